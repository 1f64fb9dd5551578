//! Damaged copies of a valid file, the same on every run: truncations, random bytes and
//! safetensors headers made invalid.

/// A seeded linear congruential generator: the same damaged files on every run.
pub(super) struct Lcg(u64);

impl Lcg {
    pub(super) fn new(seed: u64) -> Lcg {
        Lcg(seed)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Truncations at `n` evenly spread lengths, `n` random-byte files, and `n` header corruptions
/// (of a safetensors file).
pub(super) fn corruptions(valid: &[u8], n: usize, seed: u64) -> Vec<(String, Vec<u8>)> {
    let mut rng = Lcg::new(seed);
    let mut out = truncations(valid, n);
    out.extend(random_files(&mut rng, n));
    out.extend(header_corruptions(&mut rng, valid, n));
    out
}

/// `valid` cut at `n` evenly spread lengths (0 included, the whole file not).
pub(super) fn truncations(valid: &[u8], n: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let len = valid.len() * i / n;
            (format!("truncated-{len}"), valid[..len].to_vec())
        })
        .collect()
}

/// `n` files of random bytes, from empty to 40 kB.
pub(super) fn random_files(rng: &mut Lcg, n: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let len = [0, 1, 7, 8, 9, 16, 100, 1000, 5000, 40000][i % 10] + i / 10;
            let bytes = (0..len).map(|_| rng.next() as u8).collect();
            (format!("random-{len}"), bytes)
        })
        .collect()
}

/// `n` copies of a safetensors file, each with one byte of its JSON header made invalid UTF-8.
pub(super) fn header_corruptions(rng: &mut Lcg, valid: &[u8], n: usize) -> Vec<(String, Vec<u8>)> {
    let header_len = u64::from_le_bytes(valid[..8].try_into().unwrap()) as usize;
    (0..n)
        .map(|_| {
            let at = 8 + (rng.next() as usize) % header_len;
            let mut bytes = valid.to_vec();
            bytes[at] = 0xFF; // invalid UTF-8 inside the JSON header
            (format!("header-byte-{at}"), bytes)
        })
        .collect()
}
