//! The store layer: how keiyaku's records sit in the ItemStore. `keys` is the one key
//! layout; repositories over it come here as they leave the use cases.

pub mod keys;
