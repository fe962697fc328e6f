"""The host: builds components from plugins, runs them in order over bars and
slices, and hands signals to the outputs."""
