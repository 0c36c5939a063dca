//! Pools: what the host bought, what it granted each organization, and what each
//! organization granted its tenants per service. Reads answer an ETag; writes may be
//! conditional on one.

use allot_api::{PoolList, PoolRow, SetPools};
use allot_core::{Command, Grant, LicenseKey, Pool, ServiceType};

use super::etag::{IfMatch, Resource, Tagged};
use super::{HostScope, OrgScope};
use crate::api::dto::parse_time;
use crate::api::license_key;
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use allot_api::ErrorCode;

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
