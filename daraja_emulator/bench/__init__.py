"""Load-test helpers for the standalone emulator (wrk script and its driver)."""
