//! The parsed forms of DynamoDB's five expression kinds. Placeholders are already resolved: a
//! `#name` is the attribute name it stands for, a `:value` is the `Value` it stands for.

use std::fmt;

use crate::item::Value;

/// One step of a document path: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PathElem {
    Name(String),
    Index(u32),
}

/// A document path such as `a.b[2].c`. Always starts with a `Name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Path {
    pub elements: Vec<PathElem>,
}

impl Path {
    /// The top-level attribute the path starts at.
    pub fn head(&self) -> &str {
        match self.elements.first() {
            Some(PathElem::Name(n)) => n,
            _ => "",
        }
    }
}

/// DynamoDB's path form in error messages: `[a, b, [2]]`.
impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, e) in self.elements.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match e {
                PathElem::Name(n) => f.write_str(n)?,
                PathElem::Index(ix) => write!(f, "[{ix}]")?,
            }
        }
        f.write_str("]")
    }
}

/// An operand of a condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Path(Path),
    Value(Value),
    Size(Path),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparator {
    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "<>",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
        }
    }
}

/// The type names `attribute_type` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeName {
    S,
    N,
    B,
    Bool,
    Null,
    M,
    L,
    Ss,
    Ns,
    Bs,
}

impl TypeName {
    pub fn parse(s: &str) -> Option<TypeName> {
        Some(match s {
            "S" => TypeName::S,
            "N" => TypeName::N,
            "B" => TypeName::B,
            "BOOL" => TypeName::Bool,
            "NULL" => TypeName::Null,
            "M" => TypeName::M,
            "L" => TypeName::L,
            "SS" => TypeName::Ss,
            "NS" => TypeName::Ns,
            "BS" => TypeName::Bs,
            _ => return None,
        })
    }

    pub fn of(v: &Value) -> TypeName {
        match v {
            Value::S(_) => TypeName::S,
            Value::N(_) => TypeName::N,
            Value::B(_) => TypeName::B,
            Value::Bool(_) => TypeName::Bool,
            Value::Null => TypeName::Null,
            Value::M(_) => TypeName::M,
            Value::L(_) => TypeName::L,
            Value::Ss(_) => TypeName::Ss,
            Value::Ns(_) => TypeName::Ns,
            Value::Bs(_) => TypeName::Bs,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TypeName::S => "S",
            TypeName::N => "N",
            TypeName::B => "B",
            TypeName::Bool => "BOOL",
            TypeName::Null => "NULL",
            TypeName::M => "M",
            TypeName::L => "L",
            TypeName::Ss => "SS",
            TypeName::Ns => "NS",
            TypeName::Bs => "BS",
        }
    }
}

/// A condition (ConditionExpression, FilterExpression).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Condition {
    Compare(Operand, Comparator, Operand),
    Between(Operand, Operand, Operand),
    /// At most 100 candidates.
    In(Operand, Vec<Operand>),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
    AttributeExists(Path),
    AttributeNotExists(Path),
    AttributeType(Path, TypeName),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
}

/// A value on the right of `SET path = ...`, or an argument of an update function.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum UpdateOperand {
    Path(Path),
    Value(Value),
    IfNotExists(Path, Box<UpdateOperand>),
    ListAppend(Box<UpdateOperand>, Box<UpdateOperand>),
}

/// The right side of one SET action.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SetValue {
    Operand(UpdateOperand),
    Plus(UpdateOperand, UpdateOperand),
    Minus(UpdateOperand, UpdateOperand),
}

/// An UpdateExpression: each section at most once, paths pairwise non-overlapping.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Update {
    pub set: Vec<(Path, SetValue)>,
    pub remove: Vec<Path>,
    pub add: Vec<(Path, Value)>,
    pub delete: Vec<(Path, Value)>,
}

/// A ProjectionExpression: the paths to keep, pairwise non-overlapping.
pub(crate) type Projection = Vec<Path>;

/// The sort-key part of a KeyConditionExpression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortKeyCondition {
    Compare(Comparator, Value),
    Between(Value, Value),
    BeginsWith(Value),
}

/// A KeyConditionExpression: the partition key's value and, optionally, a sort-key condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeyCondition {
    pub partition_value: Value,
    pub sort: Option<SortKeyCondition>,
}
