//! What the restricted unpickler builds: plain Python values, and references to tensors and
//! storages that `read` later fills from the archive. The globals a pickle may name are a closed
//! list ([`Global::named`]); nothing is ever called.
use tch::Kind;

/// A decoded pickle value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// A dict or an `OrderedDict`, in insertion order.
    Dict(Vec<(Value, Value)>),
    /// One of the whitelisted classes or functions, before it is applied by REDUCE.
    Global(Global),
    /// A persistent id `('storage', torch.XStorage, key, location, numel)`.
    Storage(StorageRef),
    /// `_rebuild_tensor_v2(storage, offset, size, stride, …)`.
    Tensor(TensorRef),
}

/// The globals a state_dict pickle uses: `torch.load(weights_only=True)` allows more, but a
/// state_dict needs only these.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Global {
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    /// `torch.FloatStorage` and its siblings: the element type of a storage.
    StorageType(Kind),
}

/// The legacy storage classes `torch.save` names, with the element type each holds.
pub const STORAGE_TYPES: &[(&str, Kind)] = &[
    ("FloatStorage", Kind::Float),
    ("DoubleStorage", Kind::Double),
    ("HalfStorage", Kind::Half),
    ("BFloat16Storage", Kind::BFloat16),
    ("LongStorage", Kind::Int64),
    ("IntStorage", Kind::Int),
    ("ShortStorage", Kind::Int16),
    ("CharStorage", Kind::Int8),
    ("ByteStorage", Kind::Uint8),
    ("BoolStorage", Kind::Bool),
];

impl Global {
    /// The whitelisted global `module.name`, or the one-line refusal.
    pub fn named(module: &str, name: &str) -> Result<Global, String> {
        let storage = STORAGE_TYPES.iter().find(|(n, _)| *n == name);
        match (module, name, storage) {
            ("collections", "OrderedDict", _) => Ok(Global::OrderedDict),
            ("torch._utils", "_rebuild_tensor_v2", _) => Ok(Global::RebuildTensorV2),
            ("torch._utils", "_rebuild_parameter", _) => Ok(Global::RebuildParameter),
            ("torch", _, Some((_, kind))) => Ok(Global::StorageType(*kind)),
            _ => Err(format!(
                "refused global {}.{}: a state_dict pickle may name only tensor rebuild \
                 functions, storage types and OrderedDict; nothing was executed",
                crate::error::quote(module),
                crate::error::quote(name)
            )),
        }
    }

    /// The storage class name of an element type (`torch.<name>`), for the writer.
    pub fn storage_name(kind: Kind) -> Option<&'static str> {
        STORAGE_TYPES
            .iter()
            .find(|(_, k)| *k == kind)
            .map(|(n, _)| *n)
    }
}

/// A storage in the archive: `data/<key>`, `numel` elements of `kind`.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageRef {
    pub kind: Kind,
    pub key: String,
    pub numel: i64,
}

/// A tensor viewing a storage (which other tensors may share) from an offset, with strides.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRef {
    pub storage: StorageRef,
    pub offset: i64,
    pub size: Vec<i64>,
    pub stride: Vec<i64>,
}

impl Value {
    /// A short name of the value's type, for errors.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Global(_) => "class or function",
            Value::Storage(_) => "storage",
            Value::Tensor(_) => "tensor",
        }
    }

    /// The children of a container (none for the others).
    fn children(&self) -> Box<dyn Iterator<Item = &Value> + '_> {
        match self {
            Value::Tuple(items) | Value::List(items) => Box::new(items.iter()),
            Value::Dict(pairs) => Box::new(pairs.iter().flat_map(|(k, v)| [k, v])),
            _ => Box::new(std::iter::empty()),
        }
    }

    /// How deeply containers nest (0 for a scalar). Values inside a container were checked when
    /// they went in, so this recursion is bounded by the unpickler's depth limit.
    pub fn depth(&self) -> usize {
        self.children().map(|c| c.depth() + 1).max().unwrap_or(0)
    }

    /// How many values this one is made of (itself included), for the copy budget.
    pub fn nodes(&self) -> usize {
        1 + self.children().map(Value::nodes).sum::<usize>()
    }
}
