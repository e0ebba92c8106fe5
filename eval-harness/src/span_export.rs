//! The eval's spans over OTLP/HTTP (`EVAL_OTLP_ENDPOINT`, else the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT`), with the OpenTelemetry crates (feature `otlp`): one trace per
//! suite run, `eval_run` (suite, run id, variant) → `eval_attempt` (task, attempt) → the agent's
//! `eval_task` span and everything the agent emits inside it → an `eval_scorer` span per scorer
//! (scorer, verdict), a judge's own calls inside its. Spans leave in batches from a thread of
//! their own; an endpoint that cannot be reached is a warning at the end, never a fault of the run.

#[cfg(feature = "otlp")]
mod otlp {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::Duration;

    /// How long one export may take before it counts as failed.
    const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

    /// The exporting pipeline, flushed and shut down by [`SpanExport::finish`].
    pub(crate) struct SpanExport {
        provider: SdkTracerProvider,
        endpoint: String,
        failure: Arc<Mutex<Option<String>>>,
    }

    /// Starts exporting to `base` (`http://collector:4318`: spans go to `<base>/v1/traces`) and
    /// installs the process's subscriber with the exporting layer beside the capture.
    pub(crate) fn start(base: &str) -> Result<SpanExport, String> {
        let endpoint = format!("{}/v1/traces", base.trim_end_matches('/'));
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot export spans to {endpoint}: {e}"))?;
        let failure = Arc::new(Mutex::new(None));
        let watched = Watched {
            inner: exporter,
            failure: failure.clone(),
        };
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(watched)
            .with_resource(Resource::builder().with_service_name("agent-evals").build())
            .build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("agent-evals"));
        if !eval_engine::capture::install_default_with(Box::new(layer)) {
            return Err("the process has a tracing subscriber of its own: add tracing-opentelemetry's layer to it to export the eval's spans".to_owned());
        }
        Ok(SpanExport {
            provider,
            endpoint,
            failure,
        })
    }

    impl SpanExport {
        /// Sends what is left and stops; a failed export is a warning naming the endpoint.
        pub(crate) fn finish(self) {
            let flushed = self.provider.force_flush().map_err(|e| e.to_string());
            let _ = self.provider.shutdown();
            let failed = self
                .failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .or(flushed.err());
            if let Some(why) = failed {
                eprintln!(
                    "warning: the eval's spans could not all be exported to {}: {why}; the run is unaffected",
                    self.endpoint
                );
            }
        }
    }

    /// The OTLP exporter, noting its last failure (the SDK only logs them).
    #[derive(Debug)]
    struct Watched<E> {
        inner: E,
        failure: Arc<Mutex<Option<String>>>,
    }

    impl<E: SpanExporter> SpanExporter for Watched<E> {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            let exported = self.inner.export(batch).await;
            if let Err(e) = &exported {
                *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
            }
            exported
        }

        fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
            self.inner.shutdown_with_timeout(timeout)
        }

        fn force_flush(&self) -> OTelSdkResult {
            self.inner.force_flush()
        }

        fn set_resource(&mut self, resource: &Resource) {
            self.inner.set_resource(resource);
        }
    }
}

#[cfg(feature = "otlp")]
pub(crate) use otlp::SpanExport;

/// Without the `otlp` feature there is nothing to export.
#[cfg(not(feature = "otlp"))]
pub(crate) struct SpanExport;

#[cfg(not(feature = "otlp"))]
impl SpanExport {
    pub(crate) fn finish(self) {}
}

/// Installs the process's `tracing` subscriber: the capture, and the OTLP export when
/// `endpoint` asks for it. Returns the export to finish at the end, when there is one.
pub(crate) fn install(endpoint: Option<&str>) -> Option<SpanExport> {
    let Some(endpoint) = endpoint else {
        // Agents' `tracing` spans (rig's, say) land in their tasks' traces, unless the process
        // set a subscriber of its own, which then has to include `eval_engine::capture::layer()`.
        eval_engine::capture::install_default();
        return None;
    };
    #[cfg(feature = "otlp")]
    match otlp::start(endpoint) {
        Ok(export) => Some(export),
        Err(why) => {
            eprintln!("warning: {why}; no spans are exported");
            eval_engine::capture::install_default();
            None
        }
    }
    #[cfg(not(feature = "otlp"))]
    {
        eprintln!(
            "warning: an OTLP endpoint is set ({endpoint}), but eval-harness was built without its `otlp` feature: no spans are exported"
        );
        eval_engine::capture::install_default();
        None
    }
}
