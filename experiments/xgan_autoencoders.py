"""Where an XGAN run loses the attributes: its two translations beside its two auto-encoders, on one benchmark.

usage: python -m experiments.xgan_autoencoders --run_dir RUN [--cache_dir DIR] [--num_images 500]

XGAN's face -> cartoon translation is the face encoder followed by the cartoon
decoder. Each of those halves also serves an auto-encoder (face2face,
cartoon2cartoon), so scoring all four paths with `evaluation.semantics` says
which half drops an attribute: a cartoon auto-encoder that keeps it puts the
loss in the face encoder or in the alignment of the two embeddings; a face
auto-encoder that drops it too puts it in the face encoder.

The auto-encoders are built from the run's two exports (no other file of the
run is needed), saved as RUN/autoencoders/{face2face,cartoon2cartoon}.keras
and scored on photos painted and cropped as the run's were; each path's report goes to
RUN/semantics/<path>/ (an existing report is read, not recomputed). The script
prints, and writes to RUN/autoencoders/paths.md, a table of each path's
per-attribute accuracy and its fraction of the way from chance to the oracle.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from experiments.ladder_scores import fraction_of_the_way

TRANSLATIONS = ("face2cartoon", "cartoon2face")
# The table's rows: each domain's auto-encoder before the translation out of it.
PATHS = ("face2face", "face2cartoon", "cartoon2cartoon", "cartoon2face")
# XGAN's domain names -> the built-in domains evaluation.semantics knows.
BENCHMARK_DOMAINS = {"face": "photo", "cartoon": "cartoon"}
REPORT = "paths.md"


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run_dir", type=Path, required=True, help="an xgan.train run with its export/ folder")
    parser.add_argument(
        "--cache_dir", type=Path, default=None, help="evaluation.semantics's classifier cache (default: its own)"
    )
    parser.add_argument("--num_images", type=int, default=500, help="held-out images scored per path")
    return parser.parse_args(argv)


def build_autoencoders(face2cartoon, cartoon2face) -> dict:
    """{"face2face": d_face(e_face(x)), "cartoon2cartoon": d_cartoon(e_cartoon(x))} from XGAN's two exported
    translators, sharing their layers: each export holds a private encoder, the shared encoder, the shared decoder
    and a private decoder (`xgan.networks.build_translator`)."""
    from xgan.networks import build_translator  # noqa: PLC0415  (TensorFlow only once --help and the checks pass)

    parts = {layer.name: layer for model in (face2cartoon, cartoon2face) for layer in model.layers}
    missing = {"face_encoder", "cartoon_encoder", "shared_encoder", "shared_decoder", "face_decoder", "cartoon_decoder"}
    missing -= set(parts)
    if missing:
        raise ValueError(f"not XGAN translators: no {', '.join(sorted(missing))} layer")
    return {
        f"{domain}2{domain}": build_translator(
            parts[f"{domain}_encoder"],
            parts["shared_encoder"],
            parts["shared_decoder"],
            parts[f"{domain}_decoder"],
            domain,
            domain,
        )
        for domain in ("face", "cartoon")
    }


def save_autoencoders(run_dir: Path) -> dict[str, Path]:
    """Builds the auto-encoders from RUN/export and saves them in RUN/autoencoders; returns {path name: file}."""
    from training import export  # noqa: PLC0415

    exports = {name: run_dir / "export" / f"{name}.keras" for name in TRANSLATIONS}
    for path in exports.values():
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist: is {run_dir} a finished xgan.train run?")
    built = build_autoencoders(*(export.load_generator(path) for path in exports.values()))
    folder = run_dir / "autoencoders"
    folder.mkdir(exist_ok=True)
    files = {}
    for name, model in built.items():
        files[name] = folder / f"{name}.keras"
        model.save(files[name])
    return files


def face_look_flags(run_dir: Path) -> list[str]:
    """evaluation.semantics's --photo_background and --photo_crop of the run's faces (its --face_background and
    --face_crop): the auto-encoders read the photos as the run trained on them."""
    from training.run import RunLayout  # noqa: PLC0415

    config = RunLayout.open(run_dir).read_config()
    return [
        f"--photo_background={config.get('face_background', 'keep')}",
        f"--photo_crop={config.get('face_crop', 'none')}",
    ]


def semantics_command(args: argparse.Namespace, path: str, generator: Path | None, face_look: list[str]) -> list[str]:
    """evaluation.semantics of one path: a translation through --run_dir, an auto-encoder through --generator
    with the `face_look` flags."""
    out = args.run_dir / "semantics" / path
    command = [sys.executable, "-m", "evaluation.semantics", f"--num_images={args.num_images}", f"--out={out}"]
    if args.cache_dir:
        command.append(f"--cache_dir={args.cache_dir}")
    if generator is None:
        return [*command, f"--run_dir={args.run_dir}", f"--direction={path}"]
    domain = BENCHMARK_DOMAINS[path.split("2")[0]]
    return [
        *command,
        f"--generator={generator}",
        f"--source_domain={domain}",
        f"--target_domain={domain}",
        *face_look,
    ]


def paths_table(results: dict[str, dict]) -> str:
    """A markdown table: a row per path (in the order given), its accuracy per attribute, its mean and its fraction
    of the way from chance to the oracle."""
    attributes = list(next(iter(results.values()))["attributes"])
    lines = [
        "| path | " + " | ".join(attributes) + " | mean | fraction of the way |",
        "| --- |" + " ---: |" * (len(attributes) + 2),
    ]
    for path, result in results.items():
        mean = result["mean"]
        fraction = fraction_of_the_way(mean["translations"], mean["chance"], mean["oracle"])
        cells = [f"{result['attributes'][name]['translations']:.3f}" for name in attributes]
        lines.append(f"| {path} | " + " | ".join(cells) + f" | {mean['translations']:.3f} | {fraction:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        generators = save_autoencoders(args.run_dir)
    except (FileNotFoundError, ValueError) as error:
        print(f"xgan_autoencoders: error: {error}", file=sys.stderr)
        return 1
    face_look = face_look_flags(args.run_dir)
    results = {}
    for path in PATHS:
        report = args.run_dir / "semantics" / path / "semantics.json"
        if not report.is_file():
            subprocess.run(semantics_command(args, path, generators.get(path), face_look), check=True)
        results[path] = json.loads(report.read_text())
    table = paths_table(results)
    (args.run_dir / "autoencoders" / REPORT).write_text(table)
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
