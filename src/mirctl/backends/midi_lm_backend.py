"""Loads a REMI Transformer (the shipped ``pop909-remi`` or a ``mirctl train
generate-midi`` checkpoint) with the tokenizer its card describes."""

from __future__ import annotations

from typing import Any

from mirctl.backends._lazy import require


class TrainedMidiLM:
    """``net`` (a :class:`mirctl.backends.midi_lm.MidiLM` in eval mode), ``tokenizer``
    (miditok REMI), ``device``; ``info`` is the report's model entry."""

    def __init__(self, card: Any, paths: dict, ctx: Any) -> None:
        from mirctl.backends import remi
        from mirctl.backends._lazy import resolve_device, set_torch_threads
        from mirctl.errors import ModelError
        from mirctl.models.cache import sha256_file
        from mirctl.models.trained import WEIGHTS, load_weights

        torch = require("torch", extra="generate")
        from mirctl.backends.midi_lm import LMConfig, MidiLM

        set_torch_threads(ctx.threads, extra="generate")
        self.device = resolve_device(ctx.device, extra="generate")
        options = card.options
        params = options.get("params", {})
        try:
            self.tokenizer = remi.make_tokenizer(options["tokenizer"])
        except (KeyError, ValueError, TypeError) as err:
            raise ModelError(f"the card of {card.name} describes no tokenizer mirctl knows ({err})",
                             hint="the checkpoint may come from a newer mirctl") from None
        if self.tokenizer.vocab_size != options.get("vocab"):
            raise ModelError(f"{card.name}: its tokenizer has {self.tokenizer.vocab_size} tokens, its card says "
                             f"{options.get('vocab')}", hint="the installed miditok may build another vocabulary; "
                             "install the version in mirctl's requirements")
        cfg = LMConfig(vocab=self.tokenizer.vocab_size, layers=params.get("layers", 4), dim=params.get("dim", 256),
                       heads=params.get("heads", 4), context=params.get("context", 1024))
        self.net = MidiLM(cfg)
        state = {k: v.float() for k, v in load_weights(paths[WEIGHTS]).items()}  # the shipped file is float16
        try:
            self.net.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise ModelError(f"{paths[WEIGHTS]} does not fit the network its card describes "
                             f"({str(err).splitlines()[0]})") from None
        self.net.eval().to(self.device)
        self.torch = torch
        self.info = {"name": card.name, "sha256": sha256_file(paths[WEIGHTS]),
                     "parameters": self.net.parameters_count()}
