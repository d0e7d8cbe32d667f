//! Reads a GGUF file's header, metadata and tensor table (not the weights) and checks what
//! llama.cpp would otherwise trip over, some of it with a process abort: not a GGUF file,
//! truncated data, a malformed vocabulary (duplicate token texts).

use super::format::{pad_to, vtype, ALIGNMENT};
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// What reflect learned about a model file before loading it.
#[derive(Clone, Debug, Default)]
pub struct GgufInfo {
    pub architecture: String,
    pub name: Option<String>,
    pub context_length: Option<u64>,
    pub n_tokens: usize,
    pub has_chat_template: bool,
    /// Numeric `general.sampling.*` keys (without the prefix), e.g. "temp" → 0.6.
    pub sampling: HashMap<String, f64>,
    pub tensor_count: u64,
    pub file_size: u64,
    /// Elements of all tensors: the parameter count.
    pub parameters: u64,
    /// `general.file_type`: llama.cpp's name for how the weights are stored (its `llama_ftype`).
    pub file_type: Option<u32>,
    /// The ggml type that holds the most elements (what the weights mostly are).
    pub main_tensor_type: Option<u32>,
    /// `{arch}.block_count`, `.attention.head_count`, `.attention.head_count_kv`,
    /// `.embedding_length`: what the KV cache's size follows from.
    pub layers: Option<u64>,
    pub heads: Option<u64>,
    pub heads_kv: Option<u64>,
    pub embedding: Option<u64>,
}

/// Why a file cannot be a model llama.cpp will load.
#[derive(Debug)]
pub struct ValidationError {
    pub path: PathBuf,
    pub problem: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for ValidationError {}

/// A scalar or array read from the metadata (arrays other than the token list are skipped).
enum Meta {
    Str(String),
    Num(f64),
    /// The token texts, end to end, and where each ends.
    Tokens(Vocab),
    Other,
}

/// The vocabulary's texts in one buffer (one allocation instead of one per token: a 262k-token
/// vocabulary is read before every load).
#[derive(Default)]
struct Vocab {
    text: Vec<u8>,
    ends: Vec<usize>,
}

impl Vocab {
    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    fn len(&self) -> usize {
        self.ends.len()
    }
}

/// FNV-1a as a `Hasher`: token texts are short, and SipHash's setup costs more than they do.
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let start = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        self.0 = bytes.iter().fold(start, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    }
}

struct Cursor<R> {
    r: R,
    pos: u64,
    size: u64,
}

const MAX_COUNT: u64 = 1 << 24;

/// Long values are read this many bytes at a time, so that memory follows the bytes actually
/// read rather than a length field (a corrupt length in a large file, or a file that shrinks
/// while it is read, must not allocate what the field claims).
const CHUNK: u64 = 1 << 16;

impl<R: Read> Cursor<R> {
    fn bytes(&mut self, n: u64, what: &str) -> Result<Vec<u8>, String> {
        if n > self.size.saturating_sub(self.pos) {
            return Err(format!(
                "the file is truncated or corrupt: {what} needs {n} bytes at offset {} but the file has {} bytes",
                self.pos, self.size
            ));
        }
        let mut buf = Vec::with_capacity(n.min(CHUNK) as usize);
        let mut left = n;
        while left > 0 {
            let start = buf.len();
            let step = left.min(CHUNK);
            buf.resize(start + step as usize, 0);
            self.r
                .read_exact(&mut buf[start..])
                .map_err(|e| format!("cannot read {what}: {e}"))?;
            left -= step;
        }
        self.pos += n;
        Ok(buf)
    }
    /// Checks that `n` more bytes are in the file.
    fn room(&self, n: u64, what: &str) -> Result<(), String> {
        if n > self.size.saturating_sub(self.pos) {
            return Err(format!(
                "the file is truncated or corrupt: {what} needs {n} bytes at offset {} but the file has {} bytes",
                self.pos, self.size
            ));
        }
        Ok(())
    }
    /// `N` bytes, without allocating.
    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        self.room(N as u64, what)?;
        let mut a = [0u8; N];
        self.r
            .read_exact(&mut a)
            .map_err(|e| format!("cannot read {what}: {e}"))?;
        self.pos += N as u64;
        Ok(a)
    }
    /// Appends `n` bytes to `out` (at most a chunk at a time, as [`Cursor::bytes`]).
    fn append(&mut self, n: u64, what: &str, out: &mut Vec<u8>) -> Result<(), String> {
        self.room(n, what)?;
        let mut left = n;
        while left > 0 {
            let start = out.len();
            let step = left.min(CHUNK);
            out.resize(start + step as usize, 0);
            self.r
                .read_exact(&mut out[start..])
                .map_err(|e| format!("cannot read {what}: {e}"))?;
            left -= step;
        }
        self.pos += n;
        Ok(())
    }
    /// Reads past `n` bytes.
    fn skip(&mut self, n: u64, what: &str) -> Result<(), String> {
        self.room(n, what)?;
        let copied = io::copy(&mut (&mut self.r).take(n), &mut io::sink())
            .map_err(|e| format!("cannot read {what}: {e}"))?;
        if copied < n {
            return Err(format!(
                "cannot read {what}: the file ended after {} of {n} bytes",
                copied
            ));
        }
        self.pos += n;
        Ok(())
    }
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &str) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    fn string(&mut self, what: &str) -> Result<String, String> {
        let n = self.u64(what)?;
        let b = self.bytes(n, what)?;
        String::from_utf8(b).map_err(|_| format!("{what} is not valid UTF-8"))
    }
    fn scalar(&mut self, ty: u32, what: &str) -> Result<Meta, String> {
        let size = match ty {
            vtype::U8 | vtype::I8 | vtype::BOOL => 1,
            vtype::U16 | vtype::I16 => 2,
            vtype::U32 | vtype::I32 | vtype::F32 => 4,
            vtype::U64 | vtype::I64 | vtype::F64 => 8,
            vtype::STRING => return Ok(Meta::Str(self.string(what)?)),
            other => return Err(format!("{what} has an unknown value type {other}")),
        };
        let mut a = [0u8; 8];
        let b = &mut a[..size];
        self.room(size as u64, what)?;
        self.r
            .read_exact(b)
            .map_err(|e| format!("cannot read {what}: {e}"))?;
        self.pos += size as u64;
        let b = a;
        let v = match ty {
            vtype::U8 | vtype::BOOL => f64::from(b[0]),
            vtype::I8 => f64::from(b[0] as i8),
            vtype::U16 => f64::from(u16::from_le_bytes([b[0], b[1]])),
            vtype::I16 => f64::from(i16::from_le_bytes([b[0], b[1]])),
            vtype::U32 => f64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            vtype::I32 => f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            vtype::F32 => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            vtype::U64 => u64::from_le_bytes(a) as f64,
            vtype::I64 => i64::from_le_bytes(a) as f64,
            _ => f64::from_le_bytes(a),
        };
        Ok(Meta::Num(v))
    }
    fn value(&mut self, key: &str) -> Result<Meta, String> {
        let what = format!("metadata key '{key}'");
        let ty = self.u32(&what)?;
        if ty != vtype::ARRAY {
            return self.scalar(ty, &what);
        }
        let elem = self.u32(&what)?;
        let count = self.u64(&what)?;
        if count > self.size {
            return Err(format!(
                "{what} claims {count} elements, more than the file could hold"
            ));
        }
        if elem == vtype::ARRAY {
            return Err(format!(
                "{what} is a nested array, which reflect does not read"
            ));
        }
        if elem == vtype::STRING {
            // The token texts are kept; other string arrays (merges) are only checked. Reserve
            // little up front: the count is a claim, the buffers grow with the data.
            let keep = key == "tokenizer.ggml.tokens";
            let mut vocab = Vocab::default();
            let mut one = Vec::new();
            for _ in 0..count {
                let n = self.u64(&what)?;
                let buf = if keep { &mut vocab.text } else { &mut one };
                let start = if keep { buf.len() } else { 0 };
                buf.truncate(start);
                self.append(n, &what, buf)?;
                if std::str::from_utf8(&buf[start..]).is_err() {
                    return Err(format!("{what} is not valid UTF-8"));
                }
                if keep {
                    vocab.ends.push(vocab.text.len());
                }
            }
            return Ok(if keep {
                Meta::Tokens(vocab)
            } else {
                Meta::Other
            });
        }
        if count == 0 {
            return Ok(Meta::Other);
        }
        // Numbers in an array are not used: skipped whole.
        let size: u64 = match elem {
            vtype::U8 | vtype::I8 | vtype::BOOL => 1,
            vtype::U16 | vtype::I16 => 2,
            vtype::U32 | vtype::I32 | vtype::F32 => 4,
            vtype::U64 | vtype::I64 | vtype::F64 => 8,
            other => return Err(format!("{what} has an unknown value type {other}")),
        };
        self.skip(count.saturating_mul(size), &what)?;
        Ok(Meta::Other)
    }
}

/// Bytes per block and elements per block of ggml's tensor types; `None` for types this table
/// does not know (their size is then not checked).
fn type_layout(ty: u32) -> Option<(u64, u64)> {
    Some(match ty {
        0 => (4, 1),
        1 | 30 => (2, 1),
        2 => (18, 32),
        3 => (20, 32),
        6 => (22, 32),
        7 => (24, 32),
        8 => (34, 32),
        9 => (36, 32),
        10 => (84, 256),
        11 => (110, 256),
        12 => (144, 256),
        13 => (176, 256),
        14 => (210, 256),
        15 => (292, 256),
        16 => (66, 256),
        17 => (74, 256),
        18 => (98, 256),
        19 => (50, 256),
        20 => (18, 32),
        21 => (110, 256),
        22 => (82, 256),
        23 => (136, 256),
        24 => (1, 1),
        25 => (2, 1),
        26 => (4, 1),
        27 | 28 => (8, 1),
        29 => (56, 256),
        34 => (54, 256),
        35 => (66, 256),
        39 => (17, 32),
        _ => return None,
    })
}

/// Checks `path` and reads what reflect needs from it. Every error names the path and says what
/// is wrong in words a user can act on.
pub fn inspect(path: &Path) -> Result<GgufInfo, ValidationError> {
    let fail = |problem: String| ValidationError {
        path: path.to_path_buf(),
        problem,
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        fail(match e.kind() {
            io::ErrorKind::NotFound => "no such file".to_string(),
            io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string(),
        })
    })?;
    if meta.is_dir() {
        return Err(fail("is a directory, not a GGUF model file".into()));
    }
    let file = File::open(path).map_err(|e| {
        fail(match e.kind() {
            io::ErrorKind::PermissionDenied => {
                "permission denied (the file is not readable)".into()
            }
            _ => format!("cannot open: {e}"),
        })
    })?;
    // The metadata of a large vocabulary is megabytes: read it in large pieces.
    inspect_read(BufReader::with_capacity(1 << 20, file), meta.len()).map_err(fail)
}

/// What [`inspect`] checks, on the bytes `r` yields, `size` of them (the file's length). The
/// error is the problem alone, without a path. Reads past what `r` yields are errors; memory
/// stays proportional to the bytes read, whatever `size` and the length fields claim.
pub fn inspect_read(r: impl Read, size: u64) -> Result<GgufInfo, String> {
    if size == 0 {
        return Err("the file is empty".into());
    }
    read(&mut Cursor { r, pos: 0, size })
}

fn read(c: &mut Cursor<impl Read>) -> Result<GgufInfo, String> {
    let (n_tensors, n_kv) = header(c)?;
    let mut info = GgufInfo {
        tensor_count: n_tensors,
        file_size: c.size,
        ..Default::default()
    };
    let alignment = metadata(c, n_kv, &mut info)?;
    let data_needed = tensors(c, n_tensors, &mut info)?;
    let data_start = pad_to(c.pos, alignment);
    let needed = data_start.saturating_add(data_needed);
    if data_needed > 0 && needed > c.size {
        return Err(format!(
            "the file is truncated: its tensors need {needed} bytes but the file has {} (an interrupted download?)",
            c.size
        ));
    }
    Ok(info)
}

/// The signature, the version and the counts of tensors and metadata keys.
fn header(c: &mut Cursor<impl Read>) -> Result<(u64, u64), String> {
    let magic = c
        .bytes(4.min(c.size), "the header")
        .map_err(|_| "not a GGUF model file (too short)".to_string())?;
    if magic != b"GGUF" {
        return Err("not a GGUF model file (it does not start with the GGUF signature)".into());
    }
    let version = c.u32("the header")?;
    if !(2..=3).contains(&version) {
        return Err(format!(
            "unsupported GGUF version {version} (llama.cpp reads versions 2 and 3)"
        ));
    }
    let n_tensors = c.u64("the header")?;
    let n_kv = c.u64("the header")?;
    if n_tensors > MAX_COUNT || n_kv > MAX_COUNT {
        return Err(format!(
            "the header is corrupt: it claims {n_tensors} tensors and {n_kv} metadata keys"
        ));
    }
    Ok((n_tensors, n_kv))
}

/// The `n_kv` metadata keys, into `info`; returns the data's alignment.
fn metadata(c: &mut Cursor<impl Read>, n_kv: u64, info: &mut GgufInfo) -> Result<u64, String> {
    let mut alignment = ALIGNMENT;
    let mut numbers: HashMap<String, f64> = HashMap::new();
    for _ in 0..n_kv {
        let key = c.string("a metadata key")?;
        match c.value(&key)? {
            Meta::Str(s) => match key.as_str() {
                "general.architecture" => info.architecture = s,
                "general.name" => info.name = Some(s),
                "tokenizer.chat_template" => info.has_chat_template = !s.trim().is_empty(),
                _ => {}
            },
            Meta::Num(v) => {
                if key == "general.alignment" {
                    alignment = v as u64;
                }
                if let Some(k) = key.strip_prefix("general.sampling.") {
                    info.sampling.insert(k.to_string(), v);
                }
                numbers.insert(key, v);
            }
            Meta::Tokens(tokens) => {
                check_unique(&tokens)?;
                info.n_tokens = tokens.len();
            }
            Meta::Other => {}
        }
    }
    if info.architecture.is_empty() {
        return Err("the metadata has no 'general.architecture' key: this is not a model llama.cpp can load".into());
    }
    if alignment == 0 || !alignment.is_power_of_two() {
        return Err(format!(
            "'general.alignment' is {alignment}, which is not a power of two"
        ));
    }
    let arch_key = |k: &str| {
        numbers
            .get(&format!("{}.{k}", info.architecture))
            .map(|v| *v as u64)
    };
    info.context_length = arch_key("context_length");
    info.layers = arch_key("block_count");
    info.heads = arch_key("attention.head_count");
    info.heads_kv = arch_key("attention.head_count_kv").or(info.heads);
    info.embedding = arch_key("embedding_length");
    info.file_type = numbers.get("general.file_type").map(|v| *v as u32);
    Ok(alignment)
}

/// The tensor table, into `info` (parameters, the main type); returns how many bytes of data
/// after the table the tensors need.
fn tensors(c: &mut Cursor<impl Read>, n_tensors: u64, info: &mut GgufInfo) -> Result<u64, String> {
    let mut data_needed = 0u64;
    let mut by_type: HashMap<u32, u64> = HashMap::new();
    for _ in 0..n_tensors {
        let name = c.string("a tensor name")?;
        let n_dims = c.u32("a tensor description")?;
        if n_dims > 4 {
            return Err(format!(
                "tensor '{name}' has {n_dims} dimensions (at most 4 are allowed)"
            ));
        }
        let mut elements = 1u64;
        for _ in 0..n_dims {
            elements = elements.saturating_mul(c.u64("a tensor description")?);
        }
        let ty = c.u32("a tensor description")?;
        let offset = c.u64("a tensor description")?;
        info.parameters = info.parameters.saturating_add(elements);
        let n = by_type.entry(ty).or_default();
        *n = n.saturating_add(elements);
        if let Some((block_bytes, block_elems)) = type_layout(ty) {
            let bytes = (elements / block_elems).saturating_mul(block_bytes);
            data_needed = data_needed.max(offset.saturating_add(bytes));
        }
    }
    info.main_tensor_type = by_type
        .into_iter()
        .max_by_key(|(ty, n)| (*n, std::cmp::Reverse(*ty)))
        .map(|(ty, _)| ty);
    Ok(data_needed)
}

fn check_unique(tokens: &Vocab) -> Result<(), String> {
    let mut seen: HashMap<&[u8], usize, std::hash::BuildHasherDefault<Fnv>> =
        HashMap::with_capacity_and_hasher(tokens.len(), Default::default());
    for i in 0..tokens.len() {
        let t = tokens.get(i);
        if let Some(first) = seen.insert(t, i) {
            let t = String::from_utf8_lossy(t);
            return Err(format!(
                "the vocabulary is malformed: token text {t:?} appears twice (ids {first} and {i}); llama.cpp cannot load it"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::{ScriptedModel, TemplateStyle};

    fn problem(bytes: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.gguf");
        std::fs::write(&p, bytes).unwrap();
        inspect(&p).unwrap_err().problem
    }

    #[test]
    fn a_scripted_model_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.gguf");
        let mut m = ScriptedModel::from_texts(&["Hello", " world"]);
        m.template = TemplateStyle::Missing;
        m.write(&p).unwrap();
        let info = inspect(&p).unwrap();
        assert_eq!(info.architecture, "llama");
        assert_eq!(info.context_length, Some(4096));
        assert_eq!(info.n_tokens, 262 + 2);
        assert!(!info.has_chat_template);
        assert_eq!(info.name.as_deref(), Some("reflect-scripted"));
    }

    #[test]
    fn bad_files_are_named_and_explained() {
        let table: &[(&[u8], &str)] = &[
            (b"", "empty"),
            (b"hello world, this is text", "not a GGUF"),
            (b"GG", "not a GGUF"),
            (b"GGUF\x07\0\0\0", "unsupported GGUF version 7"),
            (b"GGUF\x03\0\0\0\0\0", "truncated"),
            (
                b"GGUF\x03\0\0\0\0\0\0\0\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff",
                "corrupt",
            ),
            (
                b"GGUF\x03\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
                "general.architecture",
            ),
        ];
        for (bytes, want) in table {
            let p = problem(bytes);
            assert!(p.contains(want), "{bytes:?}: {p}");
        }
    }

    #[test]
    fn truncated_model_and_duplicate_tokens_are_caught() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.gguf");
        ScriptedModel::from_texts(&["Hello"]).write(&p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert!(problem(&bytes[..bytes.len() - 100]).contains("truncated"));
        assert!(problem(&bytes[..bytes.len() / 3]).contains("truncated"));
        // Rename token "Hello" to "<unk>": a duplicate text.
        let at = bytes.windows(5).position(|w| w == b"Hello").unwrap();
        let mut dup = bytes.clone();
        dup[at - 8..at + 5].copy_from_slice(b"\x05\0\0\0\0\0\0\0<unk>");
        let p = problem(&dup);
        assert!(p.contains("appears twice") && p.contains("<unk>"), "{p}");
    }

    /// A header claiming `n_kv` keys, then `rest`.
    fn header(n_kv: u64, rest: &[u8]) -> Vec<u8> {
        let mut b = b"GGUF\x03\0\0\0".to_vec();
        b.extend_from_slice(&0u64.to_le_bytes());
        b.extend_from_slice(&n_kv.to_le_bytes());
        b.extend_from_slice(rest);
        b
    }

    #[test]
    fn skipped_arrays_are_still_checked_against_the_file() {
        // An array of 10 f32 scores with 8 bytes of data: truncated, whether the claimed size
        // is the true one or the reader runs dry first.
        let mut scores = 23u64.to_le_bytes().to_vec();
        scores.extend_from_slice(b"tokenizer.ggml.scores\0\0");
        scores.extend_from_slice(&9u32.to_le_bytes());
        scores.extend_from_slice(&6u32.to_le_bytes());
        scores.extend_from_slice(&10u64.to_le_bytes());
        scores.extend_from_slice(&[0u8; 8]);
        let file = header(1, &scores);
        let e = inspect_read(&file[..], file.len() as u64).unwrap_err();
        assert!(
            e.contains("truncated") && e.contains("needs 40 bytes"),
            "{e}"
        );
        let e = inspect_read(&file[..], u64::MAX).unwrap_err();
        assert!(e.contains("the file ended after 8 of 40 bytes"), "{e}");
        // An unknown element type is refused, as an unknown scalar is.
        let mut odd = scores[..8 + 23].to_vec();
        odd.extend_from_slice(&9u32.to_le_bytes());
        odd.extend_from_slice(&99u32.to_le_bytes());
        odd.extend_from_slice(&1u64.to_le_bytes());
        let file = header(1, &odd);
        let e = inspect_read(&file[..], file.len() as u64).unwrap_err();
        assert!(e.contains("unknown value type 99"), "{e}");
        // Merges and other string arrays are checked for UTF-8 without being kept.
        let mut merges = 22u64.to_le_bytes().to_vec();
        merges.extend_from_slice(b"tokenizer.ggml.merges\0");
        merges.extend_from_slice(&9u32.to_le_bytes());
        merges.extend_from_slice(&8u32.to_le_bytes());
        merges.extend_from_slice(&1u64.to_le_bytes());
        merges.extend_from_slice(&2u64.to_le_bytes());
        merges.extend_from_slice(&[0xC3, 0x28]);
        let file = header(1, &merges);
        let e = inspect_read(&file[..], file.len() as u64).unwrap_err();
        assert!(e.contains("is not valid UTF-8"), "{e}");
    }

    #[test]
    fn length_fields_do_not_allocate_what_they_claim() {
        // Found by the `gguf` fuzz target: when the claimed size exceeds the bytes the reader
        // yields (a file that shrinks while it is read), a key's length field was allocated in
        // full before the read failed; 2^63 bytes panicked ("capacity overflow"). Memory now
        // follows the bytes actually read.
        let mut key = (1u64 << 63).to_le_bytes().to_vec();
        key.extend_from_slice(b"general.");
        let e = inspect_read(&header(1, &key)[..], u64::MAX).unwrap_err();
        assert!(e.starts_with("cannot read a metadata key"), "{e}");
        // A vocabulary claiming 2^62 tokens (it reserved a million strings up front).
        let mut tokens = 21u64.to_le_bytes().to_vec();
        tokens.extend_from_slice(b"tokenizer.ggml.tokens");
        tokens.extend_from_slice(&9u32.to_le_bytes());
        tokens.extend_from_slice(&8u32.to_le_bytes());
        tokens.extend_from_slice(&(1u64 << 62).to_le_bytes());
        let e = inspect_read(&header(1, &tokens)[..], u64::MAX).unwrap_err();
        assert!(e.contains("tokenizer.ggml.tokens"), "{e}");
        // With the true size, both claims are refused before anything is read.
        let e = inspect_read(&header(1, &key)[..], header(1, &key).len() as u64).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        let e = inspect_read(&header(1, &tokens)[..], header(1, &tokens).len() as u64);
        assert!(e.unwrap_err().contains("more than the file could hold"));
    }

    #[test]
    fn missing_path_and_directory() {
        let dir = tempfile::tempdir().unwrap();
        let e = inspect(&dir.path().join("nope.gguf")).unwrap_err();
        assert!(e.to_string().contains("nope.gguf: no such file"), "{e}");
        let e = inspect(dir.path()).unwrap_err();
        assert!(e.problem.contains("directory"), "{e}");
    }
}
