//! One ACME order: new order → answer each pending authorization with the
//! configured challenge → finalize (fresh P-256 key + CSR) → chain.
//!
//! Challenge answers are published in [`Challenges`] for as long as the
//! order runs and withdrawn when it ends, whatever the outcome.

use std::net::IpAddr;
use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewOrder, OrderStatus, RetryPolicy,
};

use super::challenge::Challenges;
use super::AcmeError;
use crate::config::AcmeChallenge;

/// How long to wait for the CA to validate and issue.
fn retry() -> RetryPolicy {
    RetryPolicy::new()
        .initial_delay(Duration::from_millis(250))
        .backoff(1.5)
        .timeout(Duration::from_secs(60))
}

/// Orders a certificate for `hosts`; returns (chain PEM, key PEM).
pub(super) async fn issue(
    account: &Account,
    hosts: &[String],
    challenge: AcmeChallenge,
    challenges: &Challenges,
) -> Result<(String, String), AcmeError> {
    let ids: Vec<Identifier> = hosts
        .iter()
        .map(|h| match h.parse::<IpAddr>() {
            Ok(ip) => Identifier::Ip(ip),
            Err(_) => Identifier::Dns(h.clone()),
        })
        .collect();
    let mut order = account.new_order(&NewOrder::new(&ids)).await?;
    // Withdraws every published answer when the order ends.
    let mut published = challenges.session();

    let kind = match challenge {
        AcmeChallenge::Http01 => ChallengeType::Http01,
        AcmeChallenge::TlsAlpn01 => ChallengeType::TlsAlpn01,
    };
    let mut authzs = order.authorizations();
    while let Some(authz) = authzs.next().await {
        let mut authz = authz?;
        match authz.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            status => {
                return Err(AcmeError::Order(format!(
                    "authorization for {} is {status:?}",
                    authz.identifier()
                )))
            }
        }
        let name = authz.identifier().to_string();
        let mut ch = authz.challenge(kind.clone()).ok_or_else(|| {
            AcmeError::Order(format!("the CA offers no {kind:?} challenge for {name}"))
        })?;
        let key_auth = ch.key_authorization();
        match challenge {
            AcmeChallenge::Http01 => {
                published.http01(&ch.token, key_auth.as_str());
            }
            AcmeChallenge::TlsAlpn01 => {
                published.tls_alpn01(&name, key_auth.digest().as_ref())?;
            }
        }
        ch.set_ready().await?;
    }

    let status = order.poll_ready(&retry()).await?;
    if status != OrderStatus::Ready {
        return Err(AcmeError::Order(format!(
            "order is {status:?}, not ready, after validation"
        )));
    }
    let key_pem = order.finalize().await?;
    let chain_pem = order.poll_certificate(&retry()).await?;
    drop(published);
    Ok((chain_pem, key_pem))
}
