//! The product catalogue: read by anyone signed in, extended by host administrators.

use allot_api::{ProductList, ProductView};
use allot_core::catalogue::CapabilityInfo;
use allot_core::{Capability, Command, LicenseKey, Product, ProductCode, ProductKind, ServiceType};

use super::HostScope;
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use allot_api::ErrorCode;
use axum::http::StatusCode;

pub fn products(app: &App) -> ProductList {
    let books = app.books.read();
    ProductList { products: books.catalogue().products().map(ProductView::from).collect() }
}

/// The products licensed at a capability, in catalogue order.
pub fn capability_products(app: &App) -> Vec<Product> {
    let books = app.books.read();
    books.catalogue().products().filter(|p| !p.capabilities.is_empty()).cloned().collect()
}

/// `license` as the catalogue spells it, or as given when the catalogue does not know it.
pub fn spelled(app: &App, license: &LicenseKey) -> String {
    let books = app.books.read();
    books.catalogue().resolve(license).map_or_else(|_| license.to_string(), |(key, _)| key.to_string())
}

impl HostScope {
    /// Adds a license code to the catalogue.
    pub async fn add_product(&self, body: ProductView) -> ApiResult<ProductView> {
        let invalid = |e: allot_core::InvalidId| ApiError::bad_request(ErrorCode::InvalidBody, e.to_string());
        let kind = ProductKind::from(body.kind);
        if kind == ProductKind::User && body.service_type.is_some() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::WrongLicenseKind,
                "service_type: only unit licenses belong to a service",
            ));
        }
        let capabilities = body
            .capabilities
            .iter()
            .map(|c| {
                Ok(CapabilityInfo {
                    code: Capability::parse(&c.code).map_err(invalid)?,
                    name: c.name.clone(),
                    overflow: c.overflow.as_deref().map(Capability::parse).transpose().map_err(invalid)?,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        // An overflow is another level of the same product: where its holders go next.
        for capability in &capabilities {
            let Some(overflow) = &capability.overflow else { continue };
            if *overflow == capability.code || !capabilities.iter().any(|c| c.code == *overflow) {
                // Well-formed but impossible, as a wrong kind is: 422, not 400.
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::InvalidBody,
                    format!(
                        "capabilities: the overflow of `{}` must be another capability of the product",
                        capability.code
                    ),
                ));
            }
        }
        let not_for = body.not_for.iter().map(|l| LicenseKey::parse(l)).collect::<Result<Vec<_>, _>>();
        let product = Product {
            code: ProductCode::parse(&body.code).map_err(invalid)?,
            name: body.name.clone(),
            kind,
            service_type: body.service_type.as_deref().map(ServiceType::parse).transpose().map_err(invalid)?,
            capabilities,
            not_for: not_for.map_err(invalid)?,
        };
        let view = ProductView::from(&product);
        self.app().change(self.caller(), &[Command::AddProduct { product }]).await?;
        Ok(view)
    }
}
