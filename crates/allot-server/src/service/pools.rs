//! Pools: what the host bought, what it granted each organization, and what each
//! organization granted its tenants per service. Reads answer an ETag; writes may be
//! conditional on one.

use allot_api::{PoolList, PoolRow, SetPools};
use allot_core::state::Tenant;
use allot_core::{
    Command, Grant, LicenseKey, Pool, ProductCode, ProductKind, Scope, ServiceType, State, TenantId, Timestamp, UserId,
};

use super::etag::{IfMatch, Resource, Tagged};
use super::{HostScope, OrgScope};
use crate::api::dto::parse_time;
use crate::api::license_key;
use crate::app::App;
use crate::books::Outcome;
use crate::error::{ApiError, ApiResult};
use allot_api::ErrorCode;

/// A pool with something in it, the kind of its product and the service its units belong to
/// (none if not in the catalogue).
#[derive(Debug, Clone)]
pub struct HeldPool {
    pub license: LicenseKey,
    pub pool: Pool,
    pub kind: Option<ProductKind>,
    pub service: Option<ServiceType>,
}

/// Something of an organization's that ends soon: a user's holding, or a pool's grant (the
/// organization's own or a tenant's).
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    Holding { at: Timestamp, user: UserId, product: ProductCode },
    Pool { at: Timestamp, scope: Scope, license: LicenseKey },
}

impl Ending {
    pub fn at(&self) -> Timestamp {
        match self {
            Ending::Holding { at, .. } | Ending::Pool { at, .. } => *at,
        }
    }
}

/// What the organization granted one service of a tenant: its pools with something in them.
#[derive(Debug, Clone)]
pub struct HeldService {
    pub tenant: TenantId,
    pub service: ServiceType,
    pub pools: Vec<HeldPool>,
}

fn held<'a>(books: &State, pools: impl Iterator<Item = (&'a LicenseKey, &'a Pool)>) -> Vec<HeldPool> {
    let product = |license: &LicenseKey| books.catalogue().get(license.product.as_str());
    pools
        .filter(|(_, p)| !p.is_empty())
        .map(|(license, pool)| HeldPool {
            license: license.clone(),
            pool: *pool,
            kind: product(license).map(|p| p.kind),
            service: product(license).and_then(|p| p.service_type.clone()),
        })
        .collect()
}

/// A tenant's pools of one service with something in them.
fn held_of_service(books: &State, tenant: &Tenant, service: &ServiceType) -> Vec<HeldPool> {
    held(books, tenant.pools.iter().filter(|((s, _), _)| s == service).map(|((_, l), p)| (l, p)))
}

fn same_license(a: &LicenseKey, b: &LicenseKey) -> bool {
    let capability = |l: &LicenseKey| l.capability.as_ref().map(|c| c.as_str().to_ascii_lowercase());
    a.product.as_str().eq_ignore_ascii_case(b.product.as_str()) && capability(a) == capability(b)
}

/// `quantity` of `license`, in the validity window its held pool already has: a replacement
/// by quantities (UiPath's) changes no dates set natively.
fn keeping_window(held: &[HeldPool], license: &LicenseKey, quantity: i64) -> Grant {
    let window = held.iter().find(|h| same_license(&h.license, license)).map(|h| h.pool.grant).unwrap_or_default();
    Grant { quantity, ..window }
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

    /// The host's pools with something in them.
    pub fn held_pools(&self) -> Vec<HeldPool> {
        let books = self.app().books.read();
        held(&books, books.host_pools().iter())
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

    /// Whether the host holds anything to grant (UiPath answers 404 without a host license).
    pub fn host_has_license(&self) -> bool {
        let books = self.app().books.read();
        books.host_pools().values().any(|p| !p.is_empty())
    }

    /// A tenant's pools of one service with something in them; `None` for no such tenant.
    pub fn held_service_pools(&self, tenant: &TenantId, service: &ServiceType) -> Option<Vec<HeldPool>> {
        let books = self.app().books.read();
        let t = books.org(self.org().as_str())?.tenants.get(tenant)?;
        Some(held_of_service(&books, t, service))
    }

    /// What ends after now and within `window` milliseconds: pool grants and holdings,
    /// first ending first, at most `limit` of them, and how many there are in all.
    pub fn ending_within(&self, window: Timestamp, limit: usize) -> (Vec<Ending>, usize) {
        let (now, key) = (self.app().clock.now(), self.org().key());
        let books = self.app().books.read();
        let until = now.saturating_add(window);
        let pools = books.pools_ending(&key, now, until).map(|(at, scope, license)| Ending::Pool {
            at,
            scope: scope.clone(),
            license: license.clone(),
        });
        let holdings = books.holdings_ending(&key, now, until).map(|(at, user, product)| Ending::Holding {
            at,
            user: user.clone(),
            product: product.clone(),
        });
        // Both come in order of ending: the first `limit` of each, merged, are the first;
        // the rest are only counted, in the same pass.
        let mut count = 0;
        let mut first = |ending: Ending, kept: &mut Vec<Ending>| {
            count += 1;
            if kept.len() < limit {
                kept.push(ending);
            }
        };
        let (mut all, mut held) = (Vec::new(), Vec::new());
        pools.for_each(|ending| first(ending, &mut all));
        holdings.for_each(|ending| first(ending, &mut held));
        all.append(&mut held);
        all.sort_by_key(Ending::at);
        all.truncate(limit);
        (all, count)
    }

    /// Every service of every tenant (or of `tenant` only) that holds something, by tenant
    /// then service.
    pub fn held_services(&self, tenant: Option<&TenantId>) -> Vec<HeldService> {
        let books = self.app().books.read();
        let Some(org) = books.org(self.org().as_str()) else { return Vec::new() };
        let tenants = org.tenants.values().filter(|t| tenant.is_none_or(|id| *id == t.id));
        let mut services = Vec::new();
        for t in tenants {
            let mut types: Vec<&ServiceType> = t.pools.keys().map(|(s, _)| s).collect();
            types.dedup();
            for service in types {
                let pools = held_of_service(&books, t, service);
                if !pools.is_empty() {
                    services.push(HeldService { tenant: t.id.clone(), service: service.clone(), pools });
                }
            }
        }
        services
    }

    /// Replaces what the host granted the organization (host admin), product by product:
    /// those held and not in `wanted` go to 0; those held keep their validity window.
    pub async fn replace_pools(&self, wanted: Vec<(LicenseKey, i64)>) -> ApiResult<Outcome> {
        self.caller().require_host_admin()?;
        let org = self.org().clone();
        self.change_current(move |books| {
            let held = books.org(org.as_str()).map(|o| held(books, o.pools.iter())).unwrap_or_default();
            let pool = |license, grant| Command::SetOrgPool { org: org.clone(), license, grant };
            let mut commands: Vec<Command> =
                dropped(&held, &wanted).into_iter().map(|license| pool(license, Grant::default())).collect();
            commands.extend(
                wanted
                    .iter()
                    .map(|(license, quantity)| pool(license.clone(), keeping_window(&held, license, *quantity))),
            );
            Ok(commands)
        })
        .await
    }

    /// Replaces what the organization granted one service of a tenant, product by product
    /// (those held keep their validity window); a tenant not known yet is created, named `name`.
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
                Some(t) => held_of_service(books, t, &service),
                None => {
                    commands.push(Command::CreateTenant {
                        org: org.clone(),
                        tenant: tenant.clone(),
                        name: name.clone(),
                    });
                    Vec::new()
                }
            };
            let pool = |license: LicenseKey, grant: Grant| Command::SetTenantPool {
                org: org.clone(),
                tenant: tenant.clone(),
                service: service.clone(),
                license,
                grant,
            };
            commands.extend(dropped(&held, &wanted).into_iter().map(|license| pool(license, Grant::default())));
            commands.extend(
                wanted
                    .iter()
                    .map(|(license, quantity)| pool(license.clone(), keeping_window(&held, license, *quantity))),
            );
            Ok(commands)
        })
        .await
    }

    /// Takes everything the organization granted one service of a tenant (every service, for
    /// `None`) back; 404 for no such tenant.
    pub async fn clear_service_pools(&self, tenant: &TenantId, service: Option<&ServiceType>) -> ApiResult<Outcome> {
        let (org, tenant, service) = (self.org().clone(), tenant.clone(), service.cloned());
        self.change_current(move |books| {
            let Some(t) = books.org(org.as_str()).and_then(|o| o.tenants.get(&tenant)) else {
                return Err(ApiError::not_found(format!("tenant `{tenant}` does not exist")));
            };
            let zero = |service: &ServiceType, license: &LicenseKey| Command::SetTenantPool {
                org: org.clone(),
                tenant: tenant.clone(),
                service: service.clone(),
                license: license.clone(),
                grant: Grant::default(),
            };
            let named = |s: &ServiceType| service.as_ref().is_none_or(|wanted| wanted == s);
            Ok(t.pools.iter().filter(|((s, _), p)| named(s) && !p.is_empty()).map(|((s, l), _)| zero(s, l)).collect())
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
