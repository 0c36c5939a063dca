//! Host administrators: the people who administer the whole server.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminView {
    #[schema(value_type = crate::schema::UserId)]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminList {
    /// In name order.
    pub admins: Vec<AdminView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAdmin {
    #[schema(value_type = crate::schema::UserId)]
    pub name: String,
    #[schema(value_type = crate::schema::Password)]
    pub password: String,
}
