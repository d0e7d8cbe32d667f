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
}

impl GgufType {
    pub(crate) fn code(self) -> u32 {
        match self {
            GgufType::F32 => 0,
            GgufType::F16 => 1,
        }
    }

    pub(crate) fn size(self) -> usize {
        match self {
            GgufType::F32 => 4,
            GgufType::F16 => 2,
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
