//! `GET`, `PATCH` and validate on `/useradmin/users/{userId}/licenses`. The dialect only
//! translates shapes: the planner decides what is possible.

use std::collections::BTreeMap;

use allot_core::state::Holdings;
use allot_core::{Capability, Command, DirectLicense, LicenseKey, Plan, Product, UserId, ViolationCode};
use axum::Json;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Account, VonageError};
use crate::error::ApiError;
use crate::extract::{JsonBytes, Path, Read, Write};
use crate::service::{self, OrgScope};

/// `/useradmin/users/{user}/licenses`: the organization is the token's.
#[derive(Deserialize)]
pub struct UserPath {
    user: String,
}

/// One row of a validation, named and counted as compat/vonage.md decides.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeValidation {
    pub license_name: String,
    pub license_capability: String,
    pub operation_type: &'static str,
    pub current_count: usize,
    pub count_after_assignment: usize,
    pub is_assignment_possible: bool,
    pub validation_errors: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseTypes {
    license_types: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Validations {
    change_validations: Vec<ChangeValidation>,
}

/// The products to change, each with the capability wanted and the one held now.
type Changes = Vec<(Wanted, Option<Capability>)>;

/// A product the user should hold at one capability (`None`: hold none of it).
struct Wanted {
    product: Product,
    capability: Option<Capability>,
}

/// The user a path names, or Vonage's 404.
fn user(org: &OrgScope, raw: &str) -> Result<UserId, VonageError> {
    org.user_id(raw).map_err(|_| VonageError::new(StatusCode::NOT_FOUND, format!("User '{raw}' not found")))
}

/// The capability held of `product`, if any.
fn held(holdings: &Holdings, product: &Product) -> Option<Capability> {
    holdings.get(&product.code)?.capability.clone()
}

/// The products `licenseTypes` speaks of: those with capabilities, but the role, which
/// the user object carries (`userAccountConfiguration.role`).
fn license_products(org: &OrgScope) -> Vec<Product> {
    let mut products = service::capability_products(org.app());
    products.retain(|p| p.code.as_str() != allot_core::catalogue::ROLE_PRODUCT);
    products
}

fn license_types(org: &OrgScope, user: &UserId) -> LicenseTypes {
    let holdings = org.holdings(user);
    let license_types = license_products(org)
        .iter()
        .map(|p| {
            let value = held(&holdings, p).map_or_else(|| "none".to_owned(), |c| c.as_str().to_ascii_lowercase());
            (p.code.as_str().to_ascii_lowercase(), value)
        })
        .collect();
    LicenseTypes { license_types }
}

/// Parses `{"licenseTypes": {...}}` against the products this dialect speaks of (those
/// with capabilities, in catalogue order): 400 naming a bad key or value.
fn wanted(products: &[Product], body: &[u8]) -> Result<Vec<Wanted>, VonageError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| VonageError::bad_request(format!("Malformed JSON: {e}")))?;
    let object = value.as_object().ok_or_else(|| VonageError::bad_request("The body must be a JSON object"))?;
    if let Some(unknown) = object.keys().find(|k| *k != "licenseTypes") {
        return Err(VonageError::bad_request(format!("Unknown field '{unknown}'")));
    }
    let types = match object.get("licenseTypes") {
        Some(Value::Object(types)) => types,
        Some(_) => return Err(VonageError::bad_request("licenseTypes must be an object")),
        None => return Err(VonageError::bad_request("licenseTypes is required")),
    };
    let mut wanted = Vec::new();
    for product in products {
        let Some((key, value)) = types.iter().find(|(k, _)| k.eq_ignore_ascii_case(product.code.as_str())) else {
            continue;
        };
        let possible: Vec<&str> = product.capabilities.iter().map(|c| c.code.as_str()).chain(["none"]).collect();
        let invalid = || {
            VonageError::bad_request(format!(
                "Invalid value {value} for license type '{key}'. Valid values: {}",
                possible.join(", ")
            ))
        };
        let raw = value.as_str().ok_or_else(invalid)?;
        let capability = match raw.to_ascii_lowercase().as_str() {
            "none" => None,
            level => Some(product.capability(level).ok_or_else(invalid)?.code.clone()),
        };
        wanted.push(Wanted { product: product.clone(), capability });
    }
    if let Some(unknown) = types.keys().find(|k| !products.iter().any(|p| k.eq_ignore_ascii_case(p.code.as_str()))) {
        return Err(VonageError::bad_request(format!("Unknown license type '{unknown}'")));
    }
    Ok(wanted)
}

/// `none` cannot take away what a group rule gives: the rule would grant it straight back.
fn refuse_inherited(holdings: &Holdings, changes: &Changes) -> Result<(), VonageError> {
    for (wanted, _) in changes.iter().filter(|(w, _)| w.capability.is_none()) {
        if let Some(allot_core::Source::Group(group)) = holdings.get(&wanted.product.code).map(|h| &h.source) {
            let message = format!(
                "User inherits {} from group '{group}': remove the user from the group to remove it",
                wanted.product.name
            );
            return Err(VonageError::new(StatusCode::CONFLICT, message));
        }
    }
    Ok(())
}

/// The changes: only products whose requested value differs from the current one.
fn changes(holdings: &Holdings, wanted: Vec<Wanted>) -> Changes {
    wanted
        .into_iter()
        .map(|w| {
            let current = held(holdings, &w.product);
            (w, current)
        })
        .filter(|(w, current)| w.capability != *current)
        .collect()
}

fn commands(org: &OrgScope, user: &UserId, changes: &Changes) -> Vec<Command> {
    changes
        .iter()
        .map(|(w, _)| Command::SetUserLicense {
            org: org.org().clone(),
            user: user.clone(),
            product: w.product.code.clone(),
            license: w
                .capability
                .clone()
                .map(|c| DirectLicense::of(LicenseKey { product: w.product.code.clone(), capability: Some(c) }, false)),
            overflow: false,
        })
        .collect()
}

fn capability_name(product: &Product, capability: &Option<Capability>) -> String {
    match capability {
        None => "None".into(),
        Some(c) => product.capability(c.as_str()).map_or_else(|| c.to_string(), |info| info.name.clone()),
    }
}

/// The rows: first a Delete for each changed product's current capability, then an Add
/// for each requested capability. An Add is possible when the plan has no violation for it.
fn rows(org: &OrgScope, changes: &Changes, plan: &Plan) -> Vec<ChangeValidation> {
    let mut rows = Vec::new();
    for (w, current) in changes {
        let count = org.holder_count(&w.product.code, current.as_ref());
        rows.push(ChangeValidation {
            license_name: w.product.name.clone(),
            license_capability: capability_name(&w.product, current),
            operation_type: "Delete",
            current_count: count,
            count_after_assignment: count,
            is_assignment_possible: true,
            validation_errors: Vec::new(),
        });
    }
    for (w, _) in changes {
        let Some(capability) = &w.capability else { continue };
        let license = LicenseKey { product: w.product.code.clone(), capability: Some(capability.clone()) };
        let errors: Vec<String> = plan
            .violations
            .iter()
            .filter(|v| v.license.as_ref() == Some(&license))
            .map(|v| match v.code {
                ViolationCode::LicenseLimitExceeded => "License limit exceeded".to_owned(),
                ViolationCode::NotPurchased => "License not contracted".to_owned(),
                ViolationCode::Expired => "License expired".to_owned(),
                ViolationCode::NotEligible => "License not available for the user's role".to_owned(),
                _ => v.message.clone(),
            })
            .collect();
        let count = org.holder_count(&w.product.code, Some(capability));
        rows.push(ChangeValidation {
            license_name: w.product.name.clone(),
            license_capability: capability_name(&w.product, &w.capability),
            operation_type: "Add",
            current_count: count,
            count_after_assignment: count + 1,
            is_assignment_possible: errors.is_empty(),
            validation_errors: errors,
        });
    }
    rows
}

/// The user a path names and the changes a body asks for, each product checked.
fn requested_changes(org: &OrgScope, raw: &str, body: &[u8]) -> Result<(UserId, Changes), VonageError> {
    let user = user(org, raw)?;
    let holdings = org.holdings(&user);
    let changes = changes(&holdings, wanted(&license_products(org), body)?);
    refuse_inherited(&holdings, &changes)?;
    Ok((user, changes))
}

/// A user's licenses: every product with capabilities, `none` when not held.
pub async fn get(account: Account<Read>, Path(path): Path<UserPath>) -> Result<Json<LicenseTypes>, VonageError> {
    let user = user(&account, &path.user)?;
    Ok(Json(license_types(&account, &user)))
}

/// Validates a change and changes nothing.
pub async fn validate(
    account: Account<Write>,
    Path(path): Path<UserPath>,
    body: Result<JsonBytes, ApiError>,
) -> Result<Json<Validations>, VonageError> {
    let JsonBytes(body) = body?;
    let (user, changes) = requested_changes(&account, &path.user, &body)?;
    let outcome = account.validate(&commands(&account, &user, &changes));
    Ok(Json(Validations { change_validations: rows(&account, &changes, &outcome.plan) }))
}

/// Applies a change all or nothing: 409 with the rows when any row is impossible.
pub async fn patch(
    account: Account<Write>,
    Path(path): Path<UserPath>,
    body: Result<JsonBytes, ApiError>,
) -> Result<Json<LicenseTypes>, VonageError> {
    let JsonBytes(body) = body?;
    let (user, changes) = requested_changes(&account, &path.user, &body)?;
    let outcome = account.try_change(&commands(&account, &user, &changes)).await?;
    if let Some(unknown) = outcome.plan.violations.iter().find(|v| v.code.is_unknown_target()) {
        return Err(VonageError::new(StatusCode::NOT_FOUND, unknown.message.clone()));
    }
    if !outcome.plan.is_possible() {
        let rows = rows(&account, &changes, &outcome.plan);
        let message = rows
            .iter()
            .flat_map(|r| r.validation_errors.first())
            .next()
            .cloned()
            .unwrap_or_else(|| "License limit exceeded".into());
        return Err(VonageError { status: StatusCode::CONFLICT, message, rows: Some(rows) });
    }
    Ok(Json(license_types(&account, &user)))
}
