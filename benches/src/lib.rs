//! Benchmarks of `sealed-session`, beside a raw pipeline and its peers. This library is
//! empty; the benches are in `benches/` of this package. From the repository root:
//! `cargo bench -p sealed-session-benches --bench codec` (also `middleware`, `modes`,
//! `http`). See `BENCHMARKS.md` for the commands, the machine and the figures.
