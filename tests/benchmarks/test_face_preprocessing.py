"""benchmarks.face_preprocessing runs as a user runs it and reports every figure it promises."""

from tests.benchmarks import run_benchmark


def test_face_preprocessing_benchmark_reports_rates_and_counts():
    figures = run_benchmark("benchmarks.face_preprocessing", "--count", "4", "--repeats", "1")
    assert figures["images"] == 4
    for model in ("selfie", "blazeface", "face_mesh"):
        for runtime in ("litert", "tensorflow"):
            assert figures[f"{model}_{runtime}_images_per_s"] > 0
        ratio = figures[f"{model}_litert_images_per_s"] / figures[f"{model}_tensorflow_images_per_s"]
        assert abs(figures[f"{model}_litert_vs_tensorflow"] - ratio) < 0.01
    assert figures["crop_faces_blazeface_faces_found"] == "4/4"
    assert figures["remove_background_selfie_no_subject"] == "0/4"
    for figure in ("crop_faces_haar_images_per_s", "remove_background_grabcut_images_per_s"):
        assert figures[figure] > 0
