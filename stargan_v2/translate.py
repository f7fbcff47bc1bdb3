"""Reference- and latent-guided translation with a StarGAN v2 networks directory, and its CLI.

    python -m stargan_v2.translate --run_dir=RUN --input=sources/ --reference=refs/ --output=out/ [--grid]
    python -m stargan_v2.translate --run_dir=RUN --input=sources/ --latent=K [--seed=S] [--psi=P] --output=out/
        [--grid]

RUN is a StarGAN v2 networks directory: a run of `python -m stargan_v2.train` or what `python -m
stargan_v2.convert` writes, i.e. config.json and export/{generator,mapping_network,style_encoder}.keras (the
moving averages), plus export/fan.keras when its w_hpf > 0. A source x is translated into the target domain y
with a style code s (the paper's eq. 1, G(x, s)) taken either

* from a reference image x_ref of domain y: s = E_y(x_ref), the style encoder (`--reference`); or
* from a random latent code z ~ N(0, I): s = F_y(z), the mapping network (`--latent`), optionally pulled
  towards the domain's mean style by the truncation of the official `translate_using_latent`:
  s = lerp(s_avg, F_y(z), psi) with s_avg the mean of F_y over 10 000 codes (`--psi`, 1 = none).

Images are read, cropped and resized as the project's other translate CLIs read them
(`training.translate.read_prepared`); files that cannot be decoded are skipped and listed in the summary.
Outputs, never among the inputs (`stargan_v2.translate_folders` says where):
  reference-guided: out/<source>/<reference>.png, and with --grid out/reference_grid.png, the official
                    `translate_using_reference` figure (a white corner, the sources along the top row, the
                    references down the first column, each cell the source above in the reference's style);
  latent-guided:    out/<source>/<target domain>_<k>.png for k < K, and with --grid out/latent_grid.png (a row
                    per source: the source, then its K translations; column k is the same style for every row).

Exit codes are `preprocessing.folder_job`'s: 0 done (some files may have been skipped), 2 bad command line,
networks directory or folders (one line on stderr, nothing written).
"""

from __future__ import annotations

import dataclasses
import sys

import keras
import numpy as np
from absl import app, flags

from preprocessing import atomic_files, folder_job
from preprocessing.pipeline import CROPS
from stargan_v2 import layers, translate_folders  # noqa: F401  (`layers` registers the exports' custom layers)
from stargan_v2.wing import FAN_EXPORT, heatmap_masks
from training.export import MissingGeneratorError, check_exported, load_generator
from training.run import RunLayout
from training.translate import TranslationSetupError

MODEL_NAME = "stargan_v2"
# The exports a networks directory holds (the moving averages of G, F and E); the FAN's only when w_hpf > 0.
NETWORKS = ("generator", "mapping_network", "style_encoder")
FAN = FAN_EXPORT
SETUP_HINT = (
    "train with `python -m stargan_v2.train`, or convert official checkpoints with `python -m stargan_v2.convert`"
)
BATCH_SIZE = 8
# The official translate_using_latent averages the styles of 10 000 latent codes for the truncation.
MEAN_STYLE_LATENTS = 10_000


@dataclasses.dataclass(frozen=True)
class StyleTranslator:
    """A StarGAN v2 generator G with its two style sources: the mapping network F and the style encoder E.

    Every method takes and returns float32 NumPy images in [-1, 1], NHWC at `image_size`, and runs the
    networks in inference mode, `batch_size` images per call (so a large folder never builds one huge
    batch). When the networks were trained with the high-pass filter (w_hpf > 0), `fan` is the landmark
    network whose masks of the *sources* the generator also takes, as the official `masks =
    nets.fan.get_heatmap(x_src)`.
    """

    generator: keras.Model
    mapping_network: keras.Model
    style_encoder: keras.Model
    domains: tuple[str, ...]
    fan: keras.Model | None = None
    batch_size: int = BATCH_SIZE

    @classmethod
    def load(cls, networks_dir, batch_size: int = BATCH_SIZE) -> StyleTranslator:
        """The translator of a networks directory (module docstring); TranslationSetupError or
        MissingGeneratorError, each one line naming the file, when something is missing."""
        layout = RunLayout.open(networks_dir)
        config = _networks_config(layout)
        names = NETWORKS + ((FAN,) if config["w_hpf"] > 0 else ())
        paths = {name: check_exported(layout.export_path(name), SETUP_HINT) for name in names}
        networks = {name: load_generator(path) for name, path in paths.items()}
        return cls(
            networks["generator"],
            networks["mapping_network"],
            networks["style_encoder"],
            tuple(config["domains"]),
            networks.get(FAN),
            batch_size,
        )

    @property
    def image_size(self) -> int:
        return self.generator.input_shape[0][1]

    @property
    def latent_dim(self) -> int:
        return self.mapping_network.input_shape[0][1]

    def domain_id(self, name: str) -> int:
        """The index of the domain `name`; TranslationSetupError listing the known ones for another name."""
        if name not in self.domains:
            raise TranslationSetupError(f"unknown domain {name!r}; the networks' domains: {', '.join(self.domains)}")
        return self.domains.index(name)

    def reference_styles(self, references, domain: str) -> np.ndarray:
        """s = E_y(x_ref): the style codes (R, style_dim) of references of `domain`."""
        domain_id = self.domain_id(domain)
        return np.concatenate(
            [
                self._run(self.style_encoder, references[batch], _domain_ids(len(references[batch]), domain_id))
                for batch in self._batches(len(references))
            ]
        )

    def latent_styles(self, domain: str, count: int, seed: int = 0, psi: float = 1.0) -> np.ndarray:
        """s = F_y(z) for `count` codes z ~ N(0, I) drawn from `seed`: (count, style_dim).

        With psi != 1, the official truncation `torch.lerp(s_avg, s_trg, psi)` = s_avg + psi (s - s_avg),
        s_avg the mean style of 10 000 codes drawn from a second stream of `seed` (the same for any `count`).
        """
        domain_id = self.domain_id(domain)
        codes, mean_codes = (np.random.default_rng(stream) for stream in np.random.SeedSequence(seed).spawn(2))
        styles = self._map(codes.standard_normal((count, self.latent_dim)), domain_id)
        if psi != 1.0:
            many_styles = self._map(mean_codes.standard_normal((MEAN_STYLE_LATENTS, self.latent_dim)), domain_id)
            mean_style = many_styles.mean(axis=0)
            styles = mean_style + np.float32(psi) * (styles - mean_style)
        return styles

    def source_masks(self, sources):
        """The FAN's face masks (N, S, S, 2) of the sources, or None for networks without the high-pass filter."""
        return None if self.fan is None else heatmap_masks(self.fan, _float_tensor(sources), self.image_size)

    def generate(self, sources, styles, masks=None) -> np.ndarray:
        """G(x_i, s_i) for one batch of sources and as many styles; `masks` the sources' (computed if needed).

        The generator ends without tanh (as the official); its outputs are clipped to [-1, 1] here, as the
        official `denormalize` clamps them before saving.
        """
        inputs = [_float_tensor(sources), _float_tensor(styles)]
        if self.fan is not None:
            inputs.append(self.source_masks(sources) if masks is None else masks)
        outputs = keras.ops.clip(self.generator(inputs, training=False), -1.0, 1.0)
        return np.asarray(keras.ops.convert_to_numpy(outputs), np.float32)

    def in_every_style(self, sources, styles) -> np.ndarray:
        """Every source in every style: (N, R, S, S, 3), [i, r] = G(x_i, s_r); each source's masks made once."""
        outputs = []
        for batch in self._batches(len(sources)):
            images = sources[batch]
            masks = self.source_masks(images)
            per_style = [self.generate(images, np.repeat(style[None], len(images), 0), masks) for style in styles]
            outputs.append(np.stack(per_style, axis=1))
        return np.concatenate(outputs)

    def with_reference(self, sources, references, target_domain: str) -> np.ndarray:
        """Source i in the style of reference i (a reference of `target_domain`): (N, S, S, 3)."""
        if len(sources) != len(references):
            raise ValueError(f"one reference per source, got {len(sources)} sources and {len(references)} references")
        styles = self.reference_styles(references, target_domain)
        return np.concatenate([self.generate(sources[batch], styles[batch]) for batch in self._batches(len(sources))])

    def with_latent(
        self, sources, target_domain: str, styles_per_source: int, seed: int = 0, psi: float = 1.0
    ) -> np.ndarray:
        """Each source in `styles_per_source` random styles of `target_domain`: (N, K, S, S, 3).

        The K styles are the same for every source (as the official `z_trg_list`), so [:, k] is one style;
        the same seed gives the same styles.
        """
        return self.in_every_style(sources, self.latent_styles(target_domain, styles_per_source, seed, psi))

    def _map(self, latents: np.ndarray, domain_id: int) -> np.ndarray:
        # One call even for the 10 000 codes of the mean style: F is an MLP of 512 units.
        return self._run(self.mapping_network, latents, _domain_ids(len(latents), domain_id))

    def _run(self, network: keras.Model, values, domain_ids) -> np.ndarray:
        return np.asarray(
            keras.ops.convert_to_numpy(network([_float_tensor(values), domain_ids], training=False)), np.float32
        )

    def _batches(self, count: int) -> list[slice]:
        return [slice(start, start + self.batch_size) for start in range(0, count, self.batch_size)]


def _networks_config(layout: RunLayout) -> dict:
    """config.json of a networks directory, checked for what translating needs."""
    if not layout.config_path.is_file():
        raise TranslationSetupError(f"{layout.config_path}: no run config of StarGAN v2 networks ({SETUP_HINT})")
    config = layout.read_config()
    if config.get("model", MODEL_NAME) != MODEL_NAME:
        raise TranslationSetupError(f"{layout.config_path}: a {config['model']} run, not StarGAN v2 networks")
    missing = [key for key in ("domains", "w_hpf") if key not in config]
    if missing:
        raise TranslationSetupError(f"{layout.config_path}: has no {' or '.join(missing)}")
    return config


def _float_tensor(values):
    return keras.ops.convert_to_tensor(np.asarray(values, np.float32))


def _domain_ids(count: int, domain_id: int):
    return keras.ops.full((count,), domain_id, dtype="int32")


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """The CLI's flags, in `flag_values` (a function, so importing this module defines no flags)."""
    flags.DEFINE_string(
        "run_dir",
        None,
        "StarGAN v2 networks directory: a run of `python -m stargan_v2.train` or the --out of "
        "`python -m stargan_v2.convert` (config.json and export/).",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "input",
        None,
        "Source images to translate: an image file or a folder of images (recursive).",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "reference",
        None,
        "Reference-guided: an image file or a folder of images of --target_domain; every source is translated "
        "in the style of every reference, to OUTPUT/<source>/<reference>.png.",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "latent",
        None,
        "Latent-guided, instead of --reference: K random styles of --target_domain (the same K for every "
        "source), to OUTPUT/<source>/<target_domain>_<k>.png.",
        lower_bound=1,
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "target_domain",
        None,
        "Domain to translate into (and that the references belong to): one of the run config's domains; "
        "default: its last.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "output",
        None,
        "Folder for the translations (created; never the input or reference folder, nor in them).",
        flag_values=flag_values,
    )
    flags.DEFINE_bool(
        "grid",
        False,
        f"Also write the figure of the first {translate_folders.GRID_IMAGES} sources (and references): "
        "OUTPUT/reference_grid.png (a white corner, "
        "sources along the top row, references down the first column, each cell the source in the reference's "
        "style) or OUTPUT/latent_grid.png (a row per source: the source, then its K translations).",
        flag_values=flag_values,
    )
    flags.DEFINE_integer("seed", 0, "With --latent: the seed the latent codes are drawn from.", flag_values=flag_values)
    flags.DEFINE_float(
        "psi",
        1.0,
        "With --latent: truncation, each style pulled towards the domain's mean style (of 10 000 codes), "
        "s = s_avg + psi (s - s_avg); 1 = none, smaller = closer to the average (the official 0.5, 0.7, 1).",
        flag_values=flag_values,
    )
    flags.DEFINE_enum(
        "crop",
        "none",
        CROPS,
        "Crop before resizing to the networks' image size, as the training flag --crop.",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "batch_size",
        BATCH_SIZE,
        "Images per network call (lower it if memory runs out).",
        lower_bound=1,
        flag_values=flag_values,
    )
    flags.mark_flag_as_required("run_dir", flag_values=flag_values)


def translate_from_flags(flag_values: flags.FlagValues = flags.FLAGS) -> int:
    """The guided translation the flags ask for; the CLI's exit code."""
    usage_error = _usage_error(flag_values)
    if usage_error:
        print(f"error: {usage_error}", file=sys.stderr)
        return folder_job.EXIT_USAGE
    try:
        translator = StyleTranslator.load(flag_values.run_dir, flag_values.batch_size)
        domain = flag_values.target_domain or translator.domains[-1]
        translator.domain_id(domain)
        if flag_values.reference:
            summary, grid_path = translate_folders.with_references(
                translator,
                flag_values.input,
                flag_values.reference,
                flag_values.output,
                domain,
                flag_values.crop,
                flag_values.grid,
            )
        else:
            summary, grid_path = translate_folders.with_latents(
                translator,
                flag_values.input,
                flag_values.output,
                domain,
                flag_values.latent,
                flag_values.seed,
                flag_values.psi,
                flag_values.crop,
                flag_values.grid,
            )
    except (MissingGeneratorError, TranslationSetupError) as error:
        print(f"error: {error}", file=sys.stderr)
        return folder_job.EXIT_USAGE
    print(folder_job.format_summary(summary))
    if grid_path:
        print(f"  grid: {grid_path}")
    return folder_job.EXIT_COMPLETED


def _usage_error(flag_values: flags.FlagValues) -> str | None:
    if not flag_values.input or not flag_values.output:
        return "--input and --output are required"
    if bool(flag_values.reference) == (flag_values.latent is not None):
        return "give either --reference DIR (reference-guided) or --latent K (latent-guided)"
    if flag_values["psi"].present and flag_values.latent is None:
        return "--psi applies to --latent only"
    return None


def main() -> None:
    """`python -m stargan_v2.translate`: defines the flags, parses the command line, translates, exits."""
    define_flags(flags.FLAGS)

    def run(argv):
        if len(argv) > 1:
            raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
        with atomic_files.write_failures_in_one_line():
            sys.exit(translate_from_flags(flags.FLAGS))

    app.run(run)


if __name__ == "__main__":
    main()
