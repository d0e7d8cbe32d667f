//! Fast byte search (std only): find the next byte that might matter, a word at a time.
//!
//! The router spends almost all its time skipping ordinary text between `<` (and, in the
//! answer, newlines). Searching eight bytes per step keeps routing far above model speed.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Non-zero iff some byte of `x` is zero; the lowest set bit marks the first zero byte.
#[inline]
fn zero_byte_mask(x: u64) -> u64 {
    x.wrapping_sub(LO) & !x & HI
}

/// Index of the first `a` at or after `from`.
#[inline]
pub(super) fn find1(hay: &[u8], from: usize, a: u8) -> Option<usize> {
    find_by(
        hay,
        from,
        |w| zero_byte_mask(w ^ (LO * a as u64)),
        |b| b == a,
    )
}

/// Index of the first `a` or `b` at or after `from`.
#[inline]
pub(super) fn find2(hay: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
    find_by(
        hay,
        from,
        |w| zero_byte_mask(w ^ (LO * a as u64)) | zero_byte_mask(w ^ (LO * b as u64)),
        |x| x == a || x == b,
    )
}

/// Does `hay` (at most 16 bytes) contain `a` or `b`? Overlapping word loads instead of a
/// loop, so token-sized pieces cost the same whatever their length.
#[inline]
pub(super) fn short_contains2(hay: &[u8], a: u8, b: u8) -> Option<bool> {
    let mask = |w: u64| zero_byte_mask(w ^ (LO * a as u64)) | zero_byte_mask(w ^ (LO * b as u64));
    let n = hay.len();
    let load = |at: usize, len: usize| -> Option<u64> {
        let mut word = [0u8; 8];
        word.get_mut(..len)?.copy_from_slice(hay.get(at..at + len)?);
        Some(u64::from_le_bytes(word))
    };
    Some(match n {
        0 => false,
        1..=3 => {
            let (x, y, z) = (*hay.first()?, *hay.get(n / 2)?, *hay.last()?);
            [x, y, z].iter().any(|&c| c == a || c == b)
        }
        // Unused high bytes are zero: fine unless a search byte is zero.
        4..=7 if a != 0 && b != 0 => mask(load(0, 4)? | (load(n - 4, 4)? << 32)) != 0,
        8..=16 => mask(load(0, 8)?) | mask(load(n - 8, 8)?) != 0,
        _ => return None,
    })
}

#[inline(always)]
fn find_by(
    hay: &[u8],
    from: usize,
    word_mask: impl Fn(u64) -> u64,
    is_match: impl Fn(u8) -> bool,
) -> Option<usize> {
    let rest = hay.get(from..)?;
    let mut chunks = rest.chunks_exact(8);
    let mut base = from;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let mask = word_mask(u64::from_le_bytes(word));
        if mask != 0 {
            return Some(base + (mask.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&x| is_match(x))
        .map(|i| base + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(hay: &[u8], from: usize, set: &[u8]) -> Option<usize> {
        (from..hay.len()).find(|&i| set.contains(&hay[i]))
    }

    #[test]
    fn agrees_with_naive_search() {
        let texts: [&[u8]; 6] = [
            b"",
            b"<",
            b"plain text without the byte",
            b"a < b and c\n< d <<",
            "思考 🤔 <thinking>\n".as_bytes(),
            b"\x80\x81\x3b\x3c\x3d\xff\x0a\x0b\x3c",
        ];
        for hay in texts {
            for from in 0..=hay.len() + 1 {
                assert_eq!(
                    find1(hay, from, b'<'),
                    naive(hay, from, b"<"),
                    "{hay:?} {from}"
                );
                assert_eq!(
                    find2(hay, from, b'<', b'\n'),
                    naive(hay, from, b"<\n"),
                    "{hay:?} {from}"
                );
            }
        }
    }

    #[test]
    fn short_contains_agrees_with_naive() {
        let base = b"abcdefghijklmnop";
        for n in 0..=16 {
            assert_eq!(short_contains2(&base[..n], b'<', b'\n'), Some(false));
            for pos in 0..n {
                for needle in [b'<', b'\n'] {
                    let mut hay = base[..n].to_vec();
                    hay[pos] = needle;
                    assert_eq!(short_contains2(&hay, b'<', b'\n'), Some(true), "{hay:?}");
                }
            }
        }
        assert_eq!(short_contains2(&[b'a'; 17], b'<', b'\n'), None);
        assert_eq!(short_contains2(b"abcd", 0, b'<'), None);
    }

    #[test]
    fn finds_every_position_in_long_text() {
        for pos in 0..40 {
            let mut hay = vec![b'a'; 40];
            hay[pos] = b'<';
            assert_eq!(find1(&hay, 0, b'<'), Some(pos));
            assert_eq!(find2(&hay, 0, b'\n', b'<'), Some(pos));
            assert_eq!(find1(&hay, pos + 1, b'<'), None);
        }
    }
}
