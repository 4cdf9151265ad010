package tracing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ServiceNameDefault is the service.name of vlensq's spans when
// OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) is unset.
const ServiceNameDefault = "vlensq"

// Provider is the tracer provider of a process: nil TracerProvider when
// tracing is off.
type Provider struct {
	// TracerProvider is the SDK provider exporting over OTLP/HTTP; nil when
	// tracing is off.
	TracerProvider trace.TracerProvider
	shutdown       func(context.Context) error
}

// Enabled reports whether tracing is on.
func (p *Provider) Enabled() bool { return p != nil && p.TracerProvider != nil }

// Shutdown flushes the spans still buffered and stops the exporter. It is
// safe on a nil or disabled Provider.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil || p.shutdown == nil {
		return nil
	}
	return p.shutdown(ctx)
}

// Enabled reports, from the environment (getenv, e.g. os.Getenv), whether
// tracing is on: OTEL_SDK_DISABLED is not "true", and OTEL_TRACES_EXPORTER
// is "otlp", or it is unset and an OTLP endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set.
// An unsupported exporter or protocol is an error naming the variable.
func Enabled(getenv func(string) string) (bool, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false, nil
	}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			if v != "http/protobuf" {
				return false, fmt.Errorf("%s: %q is not supported: vlensq exports traces with OTLP over HTTP (http/protobuf)", k, v)
			}
			break
		}
	}
	switch exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exp {
	case "none":
		return false, nil
	case "otlp":
		return true, nil
	case "":
		return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "", nil
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER: %q is not supported: use otlp or none", exp)
	}
}

// FromEnv sets up tracing from the standard OTEL_* variables (see Enabled;
// the OTLP exporter reads OTEL_EXPORTER_OTLP_*, the SDK reads
// OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG and OTEL_BSP_*, the resource
// reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES). When tracing is off
// it returns a disabled Provider and no error. Spans are exported in batches
// in the background; call Shutdown before exiting.
func FromEnv(ctx context.Context) (*Provider, error) {
	on, err := Enabled(os.Getenv)
	if err != nil || !on {
		return &Provider{}, err
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(ServiceNameDefault)),
		resource.WithTelemetrySDK(), resource.WithHost(), resource.WithProcessPID(),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("tracing: resource (OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Provider{TracerProvider: tp, shutdown: tp.Shutdown}, nil
}

// LogHook adds trace_id and span_id to the log lines of a traced task: the
// events of a zerolog logger built with Context.Ctx(ctx) whose ctx carries a
// valid span context. Install it with logger.Hook(LogHook{}).
type LogHook struct{}

// Run implements zerolog.Hook.
func (LogHook) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	ctx := e.GetCtx()
	if ctx == nil {
		return
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		e.Str("trace_id", sc.TraceID().String()).Str("span_id", sc.SpanID().String())
	}
}
