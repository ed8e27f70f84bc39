//! Handlers: thin HTTP shells around the domain's use cases.

pub mod accounts;
pub mod audit;
pub mod authority;
pub mod contract;
pub mod documents;
pub mod ops;
pub mod recipient;
pub mod teams;
pub mod two_factor;
pub mod verification;

use serde::Serialize;
use utoipa::ToSchema;

/// A short acknowledgement.
#[derive(Serialize, ToSchema)]
pub struct StatusMessage {
    /// What happened, e.g. `verification_sent`.
    pub status: String,
}

impl StatusMessage {
    /// An acknowledgement with this status.
    pub fn new(status: &str) -> axum::Json<Self> {
        axum::Json(StatusMessage {
            status: status.to_owned(),
        })
    }
}

/// A binary request or response body: a PDF, a certificate, a CRL (a binary string in the schema).
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            // Every binary body this API takes or gives has content.
            .min_length(Some(1))
            .into()
    }
}

impl ToSchema for Binary {}

/// The user's language.
#[derive(Clone, Copy, Debug, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// 日本語.
    Ja,
    /// English.
    En,
}

impl Language {
    /// As the domain spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Ja => "ja",
            Language::En => "en",
        }
    }
}
