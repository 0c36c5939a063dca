//! Pools: what the host bought, what it granted each organization, and what each
//! organization granted its tenants per service. Reads answer an ETag; writes may be
//! conditional on one.

use allot_api::{PoolList, PoolRow, SetPools};
use allot_core::{Command, Grant, LicenseKey, Pool, ProductKind, ServiceType, State, TenantId};

use super::etag::{IfMatch, Resource, Tagged};
use super::{HostScope, OrgScope};
use crate::api::dto::parse_time;
use crate::api::license_key;
use crate::app::App;
use crate::books::Outcome;
use crate::error::{ApiError, ApiResult};
use allot_api::ErrorCode;

/// A pool with something in it, and the kind of its product (none if not in the catalogue).
#[derive(Debug, Clone)]
pub struct HeldPool {
    pub license: LicenseKey,
    pub pool: Pool,
    pub kind: Option<ProductKind>,
}

fn held<'a>(books: &State, pools: impl Iterator<Item = (&'a LicenseKey, &'a Pool)>) -> Vec<HeldPool> {
    let kind = |license: &LicenseKey| books.catalogue().get(license.product.as_str()).map(|p| p.kind);
    pools
        .filter(|(_, p)| !p.is_empty())
        .map(|(license, pool)| HeldPool { license: license.clone(), pool: *pool, kind: kind(license) })
        .collect()
}

/// The licenses of `held` not named in `wanted`, by product: a replacing write sets them to
/// 0. Pools of capability licenses (which a replacement by product cannot name) are left.
fn dropped(held: &[HeldPool], wanted: &[(LicenseKey, i64)]) -> Vec<LicenseKey> {
    held.iter()
        .map(|h| &h.license)
        .filter(|l| l.capability.is_none())
        .filter(|l| !wanted.iter().any(|(w, _)| w.product.as_str().eq_ignore_ascii_case(l.product.as_str())))
        .cloned()
        .collect()
}

fn rows<'a>(pools: impl Iterator<Item = (&'a LicenseKey, &'a Pool)>) -> Vec<PoolRow> {
    pools.filter(|(_, p)| !p.is_empty()).map(|(l, p)| PoolRow::new(l, p)).collect()
}

/// The grants a `SetPools` body asks for, checked for shape; the planner checks the rest.
fn grants(app: &App, body: &SetPools) -> ApiResult<Vec<(LicenseKey, Grant)>> {
    app.check_items(body.pools.len())?;
    body.pools
        .iter()
        .enumerate()
        .map(|(i, setting)| {
            if setting.quantity < 0 {
                return Err(ApiError::bad_request(
                    ErrorCode::InvalidBody,
                    format!("pools[{i}].quantity: must not be negative"),
                ));
            }
            let grant = Grant {
                quantity: setting.quantity,
                valid_from: parse_time(&format!("pools[{i}].valid_from"), setting.valid_from.as_deref())?,
                valid_until: parse_time(&format!("pools[{i}].valid_until"), setting.valid_until.as_deref())?,
            };
            Ok((license_key(&setting.license, &format!("pools[{i}].license"))?, grant))
        })
        .collect()
}

impl HostScope {
    /// What the host bought.
    pub fn pools(&self) -> Tagged<PoolList> {
        let books = self.app().books.read();
        let list = PoolList { pools: rows(books.host_pools().iter()), revision: books.revision() };
        Tagged(Resource::HostPools.etag(&books), list)
    }

    /// Records what the host bought; pools not listed stay as they are.
    pub async fn set_pools(&self, body: &SetPools, if_match: &IfMatch) -> ApiResult<Tagged<PoolList>> {
        let grants = grants(self.app(), body)?;
        let commands: Vec<Command> =
            grants.into_iter().map(|(license, grant)| Command::SetHostPool { license, grant }).collect();
        self.app().change_if(self.caller(), &commands, if_match, &Resource::HostPools).await?;
        Ok(self.pools())
    }
}

impl OrgScope {
    /// What the host granted the organization, and what it passed on.
    pub fn pools(&self) -> Tagged<PoolList> {
        let books = self.app().books.read();
        let pools = books.org(self.org().as_str()).map(|o| rows(o.pools.iter())).unwrap_or_default();
        let resource = Resource::OrgPools(self.org().to_string());
        Tagged(resource.etag(&books), PoolList { pools, revision: books.revision() })
    }

    /// Grants the organization licenses from the host's (host admin).
    pub async fn set_pools(&self, body: &SetPools, if_match: &IfMatch) -> ApiResult<Tagged<PoolList>> {
        self.caller().require_host_admin()?;
        let commands: Vec<Command> = grants(self.app(), body)?
            .into_iter()
            .map(|(license, grant)| Command::SetOrgPool { org: self.org().clone(), license, grant })
            .collect();
        self.change_if(&commands, if_match, &Resource::OrgPools(self.org().to_string())).await?;
        Ok(self.pools())
    }

    /// The organization's pools with something in them.
    pub fn held_pools(&self) -> Vec<HeldPool> {
        let books = self.app().books.read();
        books.org(self.org().as_str()).map(|o| held(&books, o.pools.iter())).unwrap_or_default()
    }

    /// Whether the host granted the organization anything.
    pub fn has_license(&self) -> bool {
        let books = self.app().books.read();
        books.org(self.org().as_str()).is_some_and(|o| o.pools.values().any(|p| !p.is_empty()))
    }

    /// A tenant's pools of one service with something in them; `None` for no such tenant.
    pub fn held_service_pools(&self, tenant: &TenantId, service: &ServiceType) -> Option<Vec<HeldPool>> {
        let books = self.app().books.read();
        let t = books.org(self.org().as_str())?.tenants.get(tenant)?;
        Some(held(&books, t.pools.iter().filter(|((s, _), _)| s == service).map(|((_, l), p)| (l, p))))
    }

    /// Replaces what the host granted the organization (host admin), product by product:
    /// those held and not in `wanted` go to 0.
    pub async fn replace_pools(&self, wanted: Vec<(LicenseKey, i64)>) -> ApiResult<Outcome> {
        self.caller().require_host_admin()?;
        let org = self.org().clone();
        self.change_current(move |books| {
            let held = books.org(org.as_str()).map(|o| held(books, o.pools.iter())).unwrap_or_default();
            let pool = |license, grant| Command::SetOrgPool { org: org.clone(), license, grant };
            let mut commands: Vec<Command> =
                dropped(&held, &wanted).into_iter().map(|license| pool(license, Grant::default())).collect();
            commands.extend(wanted.iter().map(|(license, quantity)| pool(license.clone(), Grant::quantity(*quantity))));
            Ok(commands)
        })
        .await
    }

    /// Replaces what the organization granted one service of a tenant, product by product;
    /// a tenant not known yet is created, named `name`.
    pub async fn replace_service_pools(
        &self,
        tenant: &TenantId,
        name: &str,
        service: &ServiceType,
        wanted: Vec<(LicenseKey, i64)>,
    ) -> ApiResult<Outcome> {
        let (org, tenant, service, name) = (self.org().clone(), tenant.clone(), service.clone(), name.to_owned());
        self.change_current(move |books| {
            let mut commands = Vec::new();
            let held = match books.org(org.as_str()).and_then(|o| o.tenants.get(&tenant)) {
                Some(t) => held(books, t.pools.iter().filter(|((s, _), _)| *s == service).map(|((_, l), p)| (l, p))),
                None => {
                    commands.push(Command::CreateTenant {
                        org: org.clone(),
                        tenant: tenant.clone(),
                        name: name.clone(),
                    });
                    Vec::new()
                }
            };
            let pool = |license: LicenseKey, quantity: i64| Command::SetTenantPool {
                org: org.clone(),
                tenant: tenant.clone(),
                service: service.clone(),
                license,
                grant: Grant::quantity(quantity),
            };
            commands.extend(dropped(&held, &wanted).into_iter().map(|license| pool(license, 0)));
            commands.extend(wanted.iter().map(|(license, quantity)| pool(license.clone(), *quantity)));
            Ok(commands)
        })
        .await
    }

    /// Takes everything the organization granted one service of a tenant back; 404 for no
    /// such tenant.
    pub async fn clear_service_pools(&self, tenant: &TenantId, service: &ServiceType) -> ApiResult<Outcome> {
        let (org, tenant, service) = (self.org().clone(), tenant.clone(), service.clone());
        self.change_current(move |books| {
            let Some(t) = books.org(org.as_str()).and_then(|o| o.tenants.get(&tenant)) else {
                return Err(ApiError::not_found(format!("tenant `{tenant}` does not exist")));
            };
            let zero = |license: &LicenseKey| Command::SetTenantPool {
                org: org.clone(),
                tenant: tenant.clone(),
                service: service.clone(),
                license: license.clone(),
                grant: Grant::default(),
            };
            Ok(t.pools.iter().filter(|((s, _), p)| *s == service && !p.is_empty()).map(|((_, l), _)| zero(l)).collect())
        })
        .await
    }

    /// What the organization granted one service of a tenant.
    pub fn service_pools(&self, tenant: &str, service: &str) -> ApiResult<Tagged<PoolList>> {
        let (tenant, service) = (self.tenant_id(tenant)?, service_type(service)?);
        let books = self.app().books.read();
        let pools = books
            .org(self.org().as_str())
            .and_then(|o| o.tenants.get(&tenant))
            .map(|t| rows(t.pools.iter().filter(|((s, _), _)| *s == service).map(|((_, l), p)| (l, p))))
            .unwrap_or_default();
        let resource = Resource::ServicePools { org: self.org().to_string(), tenant, service };
        Ok(Tagged(resource.etag(&books), PoolList { pools, revision: books.revision() }))
    }

    /// Grants a tenant's service units from the organization's pools.
    pub async fn set_service_pools(
        &self,
        tenant: &str,
        service: &str,
        body: &SetPools,
        if_match: &IfMatch,
    ) -> ApiResult<Tagged<PoolList>> {
        let (tenant_id, service_id) = (self.tenant_id(tenant)?, service_type(service)?);
        let commands: Vec<Command> = grants(self.app(), body)?
            .into_iter()
            .map(|(license, grant)| Command::SetTenantPool {
                org: self.org().clone(),
                tenant: tenant_id.clone(),
                service: service_id.clone(),
                license,
                grant,
            })
            .collect();
        let resource = Resource::ServicePools { org: self.org().to_string(), tenant: tenant_id, service: service_id };
        self.change_if(&commands, if_match, &resource).await?;
        self.service_pools(tenant, service)
    }
}

fn service_type(service: &str) -> ApiResult<ServiceType> {
    ServiceType::parse(service).map_err(|e| ApiError::not_found(e.to_string()))
}
