"""``mirctl generate-midi`` and ``mirctl train generate-midi``: parsing and help only."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mirctl.cli.common import Common, bundled_options, execute, guarded, param_option, runner_command
from mirctl.cli.trainer import TrainCommon, execute_training, trainer_command
from mirctl.tasks.midi_generation import Params as P
from mirctl.tasks.midi_lm_training import Params as LMParams

_MODEL = "Model"
_DATA = "Data and checkpoint"


_LM_OPTS = [
    ("valid_fraction", Annotated[float, typer.Option(min=0.001, max=0.99, help="Share of the songs (the last ones "
                                                     "by path) held out for validation.", rich_help_panel=_DATA)],
     0.055),
    ("layers", Annotated[int, typer.Option(min=1, help="Transformer blocks.", rich_help_panel=_MODEL)], 4),
    ("dim", Annotated[int, typer.Option(min=8, help="Model width.", rich_help_panel=_MODEL)], 256),
    ("heads", Annotated[int, typer.Option(min=1, help="Attention heads.", rich_help_panel=_MODEL)], 4),
    ("context", Annotated[int, typer.Option(min=16, help="Tokens per training window (and the attention span).",
                                            rich_help_panel=_MODEL)], 1024),
    ("dropout", Annotated[float, typer.Option(min=0.0, max=0.9, help="Dropout in every block.",
                                              rich_help_panel=_MODEL)], 0.0),
    ("transpose", Annotated[int, typer.Option(min=0, max=24, help="Transpose each window by a random whole number "
                                              "of semitones within ± this.", rich_help_panel=_MODEL)], 0),
    ("bos_windows", Annotated[float, typer.Option(min=0.0, max=1.0, help="Probability that a training window "
                                                  "moves back to the start (BOS) of the song it falls in, so the "
                                                  "model learns openings as generation starts them.",
                                                  rich_help_panel=_MODEL)], 0.0),
    ("warmup", Annotated[int, typer.Option(min=0, help="Steps of linear learning-rate warm-up.",
                                           rich_help_panel=_MODEL)], 100),
    ("cooldown", Annotated[float, typer.Option(min=0.0, max=0.99, help="Share of --max-steps at the end over which "
                                               "the learning rate falls linearly to 0.", rich_help_panel=_MODEL)],
     0.2),
    ("bf16", Annotated[bool, typer.Option("--bf16/--no-bf16", help="bfloat16 autocast: for GPUs and CPUs with bf16 "
                                          "instructions (AVX512-BF16, AMX), where it is about 2.5x faster than "
                                          "float32; on CPUs without them it is many times slower.",
                                          rich_help_panel=_MODEL)], False),
]

TRAIN_EPILOG = """Examples:

  mirctl train generate-midi --data POP909/ --out runs/pop --batch-size 4 --lr 2e-3 --max-steps 2000

  mirctl train generate-midi --data my_midi/ --out runs/mine --minutes 30 --transpose 6

  mirctl generate-midi --model runs/pop -n 20 --bars 32 -o samples/

--data is searched for .mid/.midi files; each is merged into one piano stream, shifted so
its first downbeat (from a POP909 beat_midi.txt beside it) falls on a bar line, and tokenized
as REMI (miditok). The last --valid-fraction of the files by path are held out; validation
reports cross-entropy per token and perplexity. The shipped model's exact command is in
`mirctl models show pop909-remi`.
"""


def train_generate(lm: LMParams = LMParams(), train: TrainCommon = TrainCommon()) -> None:
    """Train a REMI Transformer on a folder of MIDI files (for generate-midi --model)."""
    from mirctl.tasks import midi_lm_training as task

    execute_training(task.TRAINABLE, lm, train)


# the options become the task's own Params (defaults: those in the table above)
train_generate = bundled_options(_LM_OPTS, "lm", LMParams)(trainer_command()(train_generate))
train_generate.epilog = TRAIN_EPILOG  # type: ignore[attr-defined]


EPILOG = """Examples:

  mirctl generate-midi -n 20 --bars 32 -o samples/      000.mid … 019.mid from the shipped model

  mirctl generate-midi -n 4 --render --plot --seed 7    MIDI, audio and a piano roll each

  mirctl generate-midi prompt.mid --prompt-bars 8 --bars 24    continue the first 8 bars by 24

  mirctl generate-midi -n 20 --model runs/pop --temperature 1.1 --top-k 20

  mirctl eval midi samples/*.mid                        H1, H4, GS per piece (MusDr)

The default model, pop909-remi, is a REMI Transformer mirctl trained on POP909 and ships
inside mirctl (`mirctl models info pop909-remi`: data, split, test perplexity, the training
command). Pieces are sampled twenty side by side, a finished piece's place going to the next
(faster than --jobs on a few cores: -n 20 --bars 32 in about a minute on 2 cores); each has
its own seed derived from --seed and its name, so a piece does not change with its
neighbours, --jobs, --shard or a resumed run; finished items are skipped unless --overwrite.
"""


@runner_command()
def generate_midi(
    inputs: Annotated[Optional[list[str]], typer.Argument(help="Prompt MIDI files to continue (none: generate "
                                                          "from nothing with -n).", show_default=False)] = None,
    count: Annotated[Optional[int], typer.Option("-n", "--count", min=1, help="How many pieces to generate "
                                                 "(000, 001, …).")] = None,
    names: Annotated[Optional[str], typer.Option(help="Comma-separated names for the pieces instead of -n.")] = None,
    model: Annotated[str, param_option(P, "model", "--model", "-m")] = P.model,
    bars: Annotated[int, param_option(P, "bars", min=1)] = P.bars,
    prompt_bars: Annotated[Optional[int], param_option(P, "prompt_bars", min=1)] = None,
    temperature: Annotated[float, param_option(P, "temperature")] = P.temperature,
    top_k: Annotated[Optional[int], param_option(P, "top_k", min=1)] = None,
    top_p: Annotated[Optional[float], param_option(P, "top_p")] = P.top_p,
    seed: Annotated[int, param_option(P, "seed")] = P.seed,
    tempo: Annotated[Optional[float], param_option(P, "tempo", metavar="BPM")] = None,
    max_tokens: Annotated[Optional[int], param_option(P, "max_tokens", min=1)] = None,
    render: Annotated[bool, param_option(P, "render", "--render", show_default=False)] = False,
    plot: Annotated[bool, param_option(P, "plot", "--plot", show_default=False)] = False,
    sample_rate: Annotated[int, param_option(P, "sample_rate", "--sample-rate", "--sr")] = P.sample_rate,
    run: Common = Common(),
) -> None:
    """Generate pop piano MIDI with a REMI Transformer, from nothing or continuing prompts.
    Default layout: OUT/{track}.mid (and OUT/{track}.wav with --render, OUT/{track}.png with --plot).
    """
    from mirctl.tasks import midi_generation as task

    def build() -> tuple:
        params = task.Params(model=model, bars=bars, prompt_bars=prompt_bars, temperature=temperature,
                             top_k=top_k, top_p=top_p, seed=seed, tempo=tempo, max_tokens=max_tokens,
                             render=render, plot=plot, sample_rate=sample_rate)
        task.TASK.validate(params)
        return (params,)

    (params,) = guarded(build)
    chosen = tuple(n.strip() for n in names.split(",") if n.strip()) if names else ()
    execute(task.TASK, params, inputs or [], run, count=count, names=chosen)
