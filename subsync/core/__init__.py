"""The pure core: speech activity, attention to words, the time map, the per-line
decisions and the engine that runs them.  It knows no files, no model and no command
line: it imports numpy and the project's error types, nothing above it."""
