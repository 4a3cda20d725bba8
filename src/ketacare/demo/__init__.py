"""Demo and benchmark data: a synthetic cohort (patients), their rating-scale histories
(measures), consultations, plans and sessions (sessions), and the controlled-substance book
(ledger), and the `ketacare seed-demo` command that runs them in order. Synthetic people only,
made with Faker and fixed seeds. It sits at the top: nothing in KetaCare imports it (the layer
contracts in pyproject.toml), only its command, the tests and the benchmarks."""
