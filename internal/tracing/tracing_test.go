package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vlensq/vlensq/internal/tracing"
)

func TestEnabledFollowsTheOTELVariables(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    bool
		wantErr string
	}{
		{name: "nothing set", env: nil, want: false},
		{name: "endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318"}, want: true},
		{name: "traces endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://jaeger:4318/v1/traces"}, want: true},
		{name: "exporter otlp, default endpoint", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, want: true},
		{name: "exporter none wins over an endpoint", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"}, want: false},
		{name: "sdk disabled", env: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"}, want: false},
		{name: "service name alone", env: map[string]string{"OTEL_SERVICE_NAME": "kyc-worker"}, want: false},
		{name: "http/protobuf", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_TRACES_EXPORTER": "otlp"}, want: true},
		{name: "grpc refused", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_TRACES_EXPORTER": "otlp"}, wantErr: "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{name: "traces protocol wins", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_TRACES_EXPORTER": "otlp"}, want: true},
		{name: "zipkin refused", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, wantErr: "OTEL_TRACES_EXPORTER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tracing.Enabled(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr+":") {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Enabled = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestFromEnvIsOffWithoutSettings(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		t.Setenv(k, "")
	}
	p, err := tracing.FromEnv(context.Background())
	if err != nil || p.Enabled() {
		t.Fatalf("FromEnv = enabled %v, %v; want off", p.Enabled(), err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	p, err = tracing.FromEnv(context.Background())
	if err != nil || !p.Enabled() {
		t.Fatalf("FromEnv with an endpoint = enabled %v, %v; want on", p.Enabled(), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = p.Shutdown(ctx) // nothing buffered: returns at once
}

func TestParseTraceparent(t *testing.T) {
	sc, err := tracing.ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if err != nil {
		t.Fatal(err)
	}
	if sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || sc.SpanID().String() != "00f067aa0ba902b7" || !sc.IsSampled() {
		t.Errorf("parsed %v", sc)
	}
	if got := tracing.Traceparent(sc); got != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Errorf("Traceparent = %q", got)
	}
	for _, bad := range []string{"", "00-4bf92f3577b34da6a3ce929d0e0e4736", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "hello"} {
		if _, err := tracing.ParseTraceparent(bad); !errors.Is(err, tracing.ErrTraceparent) {
			t.Errorf("ParseTraceparent(%q) = %v, want ErrTraceparent", bad, err)
		}
	}
}

func TestHeaders(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	if h := tracing.Headers(context.Background(), "", "", at); h != nil {
		t.Errorf("untraced enqueue: headers %v, want none", h)
	}
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "producer")
	defer span.End()
	h := tracing.Headers(ctx, "", "", at)
	if h[tracing.HeaderTraceparent] != tracing.Traceparent(span.SpanContext()) || h[tracing.HeaderReadyAt] != "1700000000123" {
		t.Errorf("headers = %v", h)
	}
	const explicit = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	if h := tracing.Headers(ctx, explicit, "", at); h[tracing.HeaderTraceparent] != explicit {
		t.Errorf("an explicit traceparent must win: %v", h)
	}
	if h := tracing.Headers(context.Background(), "", explicit, at); h[tracing.HeaderLink] != explicit || h[tracing.HeaderTraceparent] != "" {
		t.Errorf("link only: %v", h)
	}
}

// runAttempt runs one attempt of a task through the middleware with a
// handler that reports v and returns err.
func runAttempt(t *testing.T, v *tracing.Verdict, err error) tracetest.SpanStub {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	mw := tracing.Middleware(tracing.MiddlewareConfig{TracerProvider: tp})
	h := mw(asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
		if v != nil {
			tracing.SetTenant(ctx, v.Tenant)
			tracing.SetVerdict(ctx, v.Class, v.Category, v.Code)
		}
		return err
	}))
	task := asynq.NewTaskWithHeaders("ocr:id_front", []byte(`{}`), map[string]string{tracing.HeaderReadyAt: "0"})
	if got := h.ProcessTask(context.Background(), task); !errors.Is(got, err) && got != err {
		t.Fatalf("middleware returned %v, want the handler's %v", got, err)
	}
	ss := exp.GetSpans()
	if len(ss) != 1 || ss[0].Name != tracing.SpanProcess {
		t.Fatalf("spans = %v", ss)
	}
	return ss[0]
}

func TestSpanStatusFollowsTheClassification(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    *tracing.Verdict
		err  error
		want codes.Code
	}{
		{"success", &tracing.Verdict{Class: "success"}, nil, codes.Ok},
		{"throttled is not an error", &tracing.Verdict{Class: "throttled", Category: "account", Code: 4003}, errors.New("throttled"), codes.Unset},
		{"transient attempt", &tracing.Verdict{Class: "transient", Category: "server", Code: 5000}, errors.New("retry"), codes.Error},
		{"permanent", &tracing.Verdict{Class: "permanent", Category: "identity_verification", Code: 3011}, fmt.Errorf("dead-lettered: %w", asynq.SkipRetry), codes.Error},
		{"failure before a verdict", nil, errors.New("redis down"), codes.Error},
		{"already ended", nil, nil, codes.Unset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := runAttempt(t, tc.v, tc.err)
			if s.Status.Code != tc.want {
				t.Errorf("status = %v, want %v", s.Status, tc.want)
			}
			if tc.err != nil && strings.Contains(s.Status.Description, tc.err.Error()) {
				t.Errorf("status description %q holds the error text", s.Status.Description)
			}
		})
	}
}

func TestStartIsFreeWithoutARecordingSpan(t *testing.T) {
	ctx := context.Background()
	got, span := tracing.Start(ctx, "x")
	if got != ctx || span.IsRecording() {
		t.Fatal("Start opened a span without a recording parent")
	}
	if n := testing.AllocsPerRun(100, func() {
		_, s := tracing.Start(ctx, "x")
		tracing.End(s, nil)
	}); n != 0 {
		t.Errorf("Start without tracing allocates %v times, want 0", n)
	}
}

func TestLogHookAddsTraceAndSpanIDs(t *testing.T) {
	var buf bytes.Buffer
	log := zerolog.New(&buf).Hook(tracing.LogHook{})
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "attempt")
	defer span.End()
	traced := log.With().Ctx(ctx).Logger()
	traced.Info().Msg("traced")
	log.Info().Msg("untraced")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var withIDs, untraced map[string]any
	if err := errors.Join(json.Unmarshal([]byte(lines[0]), &withIDs), json.Unmarshal([]byte(lines[1]), &untraced)); err != nil {
		t.Fatal(err)
	}
	sc := span.SpanContext()
	if withIDs["trace_id"] != sc.TraceID().String() || withIDs["span_id"] != sc.SpanID().String() {
		t.Errorf("traced line = %v, want trace_id %s span_id %s", withIDs, sc.TraceID(), sc.SpanID())
	}
	if _, ok := untraced["trace_id"]; ok {
		t.Errorf("untraced line has a trace_id: %v", untraced)
	}
}
