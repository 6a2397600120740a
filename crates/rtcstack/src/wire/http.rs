//! LiveKit's HTTP calls (`rtc/validate`, which says why a websocket was
//! refused: an expired or invalid token rather than "upgrade refused") on
//! reqwest as the token endpoint and the updater use it: certificates by
//! the operating system's trust store, the environment's proxies.

use livekit_net::{Header, HttpClient, HttpMethod, HttpResponse, TransportError};

pub(super) struct Http(reqwest::Client);

impl Http {
    pub(super) fn new() -> Result<Self, reqwest::Error> {
        Ok(Http(reqwest::Client::builder().build()?))
    }
}

/// An error and its causes, in words (reqwest's own stops at "error
/// sending request").
fn chain(e: &dyn std::error::Error) -> String {
    let mut words = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        words.push_str(": ");
        words.push_str(&c.to_string());
        cause = c.source();
    }
    words
}

#[async_trait::async_trait]
impl HttpClient for Http {
    async fn request(
        &self,
        method: HttpMethod,
        url: String,
        headers: Vec<Header>,
        body: Option<Vec<u8>>,
    ) -> Result<HttpResponse, TransportError> {
        let mut req = match method {
            HttpMethod::Get => self.0.get(&url),
            HttpMethod::Post => self.0.post(&url),
        };
        for h in &headers {
            req = req.header(&h.name, &h.value);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let res = req
            .send()
            .await
            .map_err(|e| TransportError::Connection(chain(&e)))?;
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .filter_map(|(n, v)| {
                Some(Header {
                    name: n.as_str().to_string(),
                    value: v.to_str().ok()?.to_string(),
                })
            })
            .collect();
        let body = res
            .bytes()
            .await
            .map_err(|e| TransportError::Connection(chain(&e)))?
            .to_vec();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}
