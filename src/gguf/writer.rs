//! A minimal GGUF v3 writer: metadata key/values, tensor infos and tensor data.

use super::format::{pad_to, vtype, GgufType, Value, ALIGNMENT};
use std::io::{self, Write};

struct Tensor {
    name: String,
    dims: Vec<u64>,
    ty: GgufType,
    data: Vec<u8>,
}

/// Collects metadata and tensors, then writes a complete GGUF file.
#[derive(Default)]
pub struct GgufWriter {
    kv: Vec<(String, Value)>,
    tensors: Vec<Tensor>,
}

impl GgufWriter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn kv(&mut self, key: &str, value: Value) -> &mut Self {
        self.kv.push((key.to_string(), value));
        self
    }

    /// Adds a tensor from f32 values, stored as `ty`. `dims` are in ggml order (ne0 first).
    pub fn tensor(&mut self, name: &str, dims: &[u64], ty: GgufType, values: &[f32]) -> &mut Self {
        let count: u64 = dims.iter().product();
        assert_eq!(
            count as usize,
            values.len(),
            "tensor {name}: shape and data disagree"
        );
        assert!(
            dims.first().is_some_and(|d| d % ty.block() == 0),
            "tensor {name}: rows of {ty:?} must be a multiple of {}",
            ty.block()
        );
        let data = ty.encode(values);
        self.tensors.push(Tensor {
            name: name.to_string(),
            dims: dims.to_vec(),
            ty,
            data,
        });
        self
    }

    /// Writes the file to `out`.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        let mut w = Counting {
            inner: out,
            written: 0,
        };
        w.put(b"GGUF")?;
        w.put(&3u32.to_le_bytes())?;
        w.put(&(self.tensors.len() as u64).to_le_bytes())?;
        w.put(&(self.kv.len() as u64).to_le_bytes())?;
        for (key, value) in &self.kv {
            w.string(key)?;
            w.value(value)?;
        }
        let mut offset = 0u64;
        for t in &self.tensors {
            w.string(&t.name)?;
            w.put(&(t.dims.len() as u32).to_le_bytes())?;
            for d in &t.dims {
                w.put(&d.to_le_bytes())?;
            }
            w.put(&t.ty.code().to_le_bytes())?;
            w.put(&offset.to_le_bytes())?;
            offset += pad_to(t.data.len() as u64, ALIGNMENT);
        }
        w.pad()?;
        for t in &self.tensors {
            w.put(&t.data)?;
            w.pad()?;
        }
        Ok(())
    }

    /// Writes the model split into `parts` files as llama.cpp's `gguf-split` does:
    /// `PREFIX-00001-of-0000N.gguf` holds the metadata and `split.*` keys, every part some of
    /// the tensors. Returns the paths, the first (the one to load) first.
    pub fn write_split(
        &self,
        prefix: &std::path::Path,
        parts: usize,
    ) -> io::Result<Vec<std::path::PathBuf>> {
        let parts = parts.clamp(1, self.tensors.len().max(1));
        let per = self.tensors.len().div_ceil(parts);
        let mut paths = Vec::new();
        for (i, chunk) in self.tensors.chunks(per.max(1)).enumerate() {
            let split = [
                ("split.no", Value::U16(i as u16)),
                ("split.count", Value::U16(parts as u16)),
                ("split.tensors.count", Value::I32(self.tensors.len() as i32)),
            ];
            let mut kv: Vec<(String, Value)> = if i == 0 { self.kv.clone() } else { Vec::new() };
            kv.extend(split.into_iter().map(|(k, v)| (k.to_string(), v)));
            let part = GgufWriter {
                kv,
                tensors: chunk
                    .iter()
                    .map(|t| Tensor {
                        name: t.name.clone(),
                        dims: t.dims.clone(),
                        ty: t.ty,
                        data: t.data.clone(),
                    })
                    .collect(),
            };
            let mut name = prefix.as_os_str().to_owned();
            name.push(format!("-{:05}-of-{parts:05}.gguf", i + 1));
            let path = std::path::PathBuf::from(name);
            part.write_file(&path)?;
            paths.push(path);
        }
        Ok(paths)
    }

    /// Writes the file atomically: a temporary file beside `path`, then a rename.
    pub fn write_file(&self, path: &std::path::Path) -> io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let result = (|| {
            let mut f = io::BufWriter::new(std::fs::File::create(&tmp)?);
            self.write_to(&mut f)?;
            f.into_inner().map_err(|e| e.into_error())?.sync_all()
        })();
        match result {
            Ok(()) => std::fs::rename(&tmp, path),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }
}

struct Counting<'a, W: Write> {
    inner: &'a mut W,
    written: u64,
}

impl<W: Write> Counting<'_, W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.written += bytes.len() as u64;
        self.inner.write_all(bytes)
    }

    fn pad(&mut self) -> io::Result<()> {
        let n = pad_to(self.written, ALIGNMENT) - self.written;
        self.put(&vec![0u8; n as usize])
    }

    fn string(&mut self, s: &str) -> io::Result<()> {
        self.put(&(s.len() as u64).to_le_bytes())?;
        self.put(s.as_bytes())
    }

    fn array_header(&mut self, ty: u32, len: usize) -> io::Result<()> {
        self.put(&vtype::ARRAY.to_le_bytes())?;
        self.put(&ty.to_le_bytes())?;
        self.put(&(len as u64).to_le_bytes())
    }

    fn value(&mut self, v: &Value) -> io::Result<()> {
        match v {
            Value::U16(x) => {
                self.put(&vtype::U16.to_le_bytes())?;
                self.put(&x.to_le_bytes())
            }
            Value::U32(x) => {
                self.put(&vtype::U32.to_le_bytes())?;
                self.put(&x.to_le_bytes())
            }
            Value::I32(x) => {
                self.put(&vtype::I32.to_le_bytes())?;
                self.put(&x.to_le_bytes())
            }
            Value::F32(x) => {
                self.put(&vtype::F32.to_le_bytes())?;
                self.put(&x.to_le_bytes())
            }
            Value::Bool(x) => {
                self.put(&vtype::BOOL.to_le_bytes())?;
                self.put(&[u8::from(*x)])
            }
            Value::Str(s) => {
                self.put(&vtype::STRING.to_le_bytes())?;
                self.string(s)
            }
            Value::StrArray(items) => {
                self.array_header(vtype::STRING, items.len())?;
                items.iter().try_for_each(|s| self.string(s))
            }
            Value::F32Array(items) => {
                self.array_header(vtype::F32, items.len())?;
                items.iter().try_for_each(|x| self.put(&x.to_le_bytes()))
            }
            Value::I32Array(items) => {
                self.array_header(vtype::I32, items.len())?;
                items.iter().try_for_each(|x| self.put(&x.to_le_bytes()))
            }
        }
    }
}
