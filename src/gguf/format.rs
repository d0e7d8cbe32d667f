//! The GGUF value and tensor type codes shared by the writer and the reader.

/// Metadata value types as numbered by the GGUF specification.
pub(crate) mod vtype {
    pub const U8: u32 = 0;
    pub const I8: u32 = 1;
    pub const U16: u32 = 2;
    pub const I16: u32 = 3;
    pub const U32: u32 = 4;
    pub const I32: u32 = 5;
    pub const F32: u32 = 6;
    pub const BOOL: u32 = 7;
    pub const STRING: u32 = 8;
    pub const ARRAY: u32 = 9;
    pub const U64: u32 = 10;
    pub const I64: u32 = 11;
    pub const F64: u32 = 12;
}

/// Tensor element types the writer emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GgufType {
    F32,
    F16,
    /// ggml's 8-bit blocks: 32 values share one f16 scale (rows must be multiples of 32).
    Q8_0,
}

/// Values per Q8_0 block.
const Q8_0_BLOCK: usize = 32;

impl GgufType {
    pub(crate) fn code(self) -> u32 {
        match self {
            GgufType::F32 => 0,
            GgufType::F16 => 1,
            GgufType::Q8_0 => 8,
        }
    }

    /// The values as stored: little-endian floats, or Q8_0 blocks (an f16 scale, the
    /// largest magnitude over 127, then 32 rounded int8 values).
    pub(crate) fn encode(self, values: &[f32]) -> Vec<u8> {
        match self {
            GgufType::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            GgufType::F16 => values
                .iter()
                .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                .collect(),
            GgufType::Q8_0 => {
                let mut out = Vec::with_capacity(values.len() / Q8_0_BLOCK * 34);
                for block in values.chunks(Q8_0_BLOCK) {
                    let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
                    let d = amax / 127.0;
                    let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
                    out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
                    out.extend(block.iter().map(|v| (v * inv).round() as i8 as u8));
                }
                out
            }
        }
    }

    /// How many values a row's length must be a multiple of.
    pub(crate) fn block(self) -> u64 {
        match self {
            GgufType::Q8_0 => Q8_0_BLOCK as u64,
            _ => 1,
        }
    }
}

/// A metadata value to write.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    U16(u16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    Str(String),
    StrArray(Vec<String>),
    F32Array(Vec<f32>),
    I32Array(Vec<i32>),
}

/// Alignment of the tensor data section (GGUF default).
pub(crate) const ALIGNMENT: u64 = 32;

pub(crate) fn pad_to(n: u64, align: u64) -> u64 {
    n.div_ceil(align) * align
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_0_blocks_hold_a_scale_and_rounded_bytes() {
        let values: Vec<f32> = (0..64).map(|i| (i as f32 - 20.0) / 7.0).collect();
        let bytes = GgufType::Q8_0.encode(&values);
        assert_eq!(
            bytes.len(),
            2 * 34,
            "two blocks of an f16 scale and 32 bytes"
        );
        for (b, block) in bytes.chunks(34).zip(values.chunks(32)) {
            let d = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
            let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!((d - amax / 127.0).abs() < 1e-3, "{d}");
            for (q, v) in b[2..].iter().zip(block) {
                let back = f32::from(*q as i8) * d;
                assert!(
                    (back - v).abs() <= d * 0.5 + 1e-3,
                    "{v} came back as {back}"
                );
            }
        }
        assert_eq!(
            GgufType::Q8_0.encode(&[0.0; 32])[2..],
            [0u8; 32],
            "a block of zeros"
        );
    }
}
