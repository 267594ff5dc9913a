"""File input/output: audio, MIDI and atomic writes. Heavy modules load lazily."""
