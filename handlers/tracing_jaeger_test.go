package handlers_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/vlensq/vlensq/internal/tracing"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
)

// TestJaegerReceivesTheTrace sends a task's trace (a retry, a token refresh,
// the Vlens calls, the outcome) over OTLP/HTTP to a real Jaeger all-in-one
// and reads it back from Jaeger's query API. It is opt-in:
//
//	VLENSQ_TEST_JAEGER=1 go test -run TestJaegerReceivesTheTrace -v ./handlers/
//
// with Jaeger's OTLP receiver at VLENSQ_TEST_JAEGER_OTLP (default
// http://127.0.0.1:4318) and its query API and UI at VLENSQ_TEST_JAEGER_QUERY
// (default http://127.0.0.1:16686); see docs/observability.md.
func TestJaegerReceivesTheTrace(t *testing.T) {
	if os.Getenv("VLENSQ_TEST_JAEGER") != "1" {
		t.Skip("opt-in test: set VLENSQ_TEST_JAEGER=1 with a Jaeger all-in-one running (docs/observability.md); " +
			"it is skipped even with CI=true because it is opt-in, not because something is missing")
	}
	otlp := cmp.Or(os.Getenv("VLENSQ_TEST_JAEGER_OTLP"), "http://127.0.0.1:4318")
	query := cmp.Or(os.Getenv("VLENSQ_TEST_JAEGER_QUERY"), "http://127.0.0.1:16686")
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(otlp+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	service := fmt.Sprintf("vlensq-jaeger-test-%d", time.Now().Unix())
	res := resource.NewSchemaless(semconv.ServiceName(service))
	tb := tracedSetupWith(t, tracedOpts{policy: fastPolicy, provider: []sdktrace.TracerProviderOption{sdktrace.WithBatcher(exp), sdktrace.WithResource(res)}})

	// A 503 (retried), then an expired user token (refreshed, replayed).
	id, producer := tb.produce(t, tasks.TypeVerifyIDFront, &tasks.Payload{Tenant: tb.tenant.Name, User: tb.user,
		Image: &tasks.Image{Inline: pngB64}, ClientTransactionID: uniq(t, "http503,expire,ok")})
	if o := tb.waitOutcome(t, id, 15*time.Second); o.Status != outcome.StatusSucceeded {
		t.Fatalf("outcome = %+v", o)
	}
	tb.waitTrace(t, producer.TraceID(), tracing.SpanProcess, 2)
	if err := tb.tp.ForceFlush(ctx); err != nil {
		t.Fatalf("export to %s: %v", otlp, err)
	}

	traceID := producer.TraceID().String()
	var got jaegerTrace
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err = fetchJaegerTrace(ctx, query, traceID)
		if err == nil && len(got.ops(tracing.SpanProcess)) == 2 && len(got.ops(tracing.SpanOutcomePublish)) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Jaeger at %s has not got trace %s within 20 s (%v; spans %v)", query, traceID, err, got.names())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The structure survived the trip: both attempts are children of the
	// producer's span, the refresh is a child of the second attempt.
	byID := map[string]jaegerSpan{}
	for _, s := range got.Spans {
		byID[s.SpanID] = s
	}
	for _, p := range got.ops(tracing.SpanProcess) {
		if p.parent() != producer.SpanID().String() {
			t.Errorf("attempt span %s: parent %s, want the producer %s", p.SpanID, p.parent(), producer.SpanID())
		}
	}
	refresh := got.ops(tracing.SpanTokenRefresh)
	if len(refresh) == 0 || byID[refresh[len(refresh)-1].parent()].OperationName != tracing.SpanProcess {
		t.Errorf("no token refresh under an attempt: %v", got.names())
	}
	for _, want := range []string{"producer request", vlensCallOf(tasks.TypeVerifyIDFront), vlensCall("POST", "/api/DigitalIdentity/RefreshToken")} {
		if !slices.Contains(got.names(), want) {
			t.Errorf("Jaeger's trace lacks %q: %v", want, got.names())
		}
	}
	t.Logf("trace in Jaeger: %s/trace/%s (service %s)", query, traceID, service)
}

type jaegerTrace struct {
	TraceID string       `json:"traceID"`
	Spans   []jaegerSpan `json:"spans"`
}

type jaegerSpan struct {
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
}

func (s jaegerSpan) parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

func (tr jaegerTrace) ops(name string) []jaegerSpan {
	var out []jaegerSpan
	for _, s := range tr.Spans {
		if s.OperationName == name {
			out = append(out, s)
		}
	}
	return out
}

func (tr jaegerTrace) names() []string {
	var out []string
	for _, s := range tr.Spans {
		out = append(out, s.OperationName)
	}
	slices.Sort(out)
	return out
}

// fetchJaegerTrace reads a trace from Jaeger's query API.
func fetchJaegerTrace(ctx context.Context, query, traceID string) (jaegerTrace, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, query+"/api/traces/"+traceID, nil)
	if err != nil {
		return jaegerTrace{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return jaegerTrace{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return jaegerTrace{}, fmt.Errorf("GET /api/traces/%s: %s", traceID, resp.Status)
	}
	var body struct {
		Data []jaegerTrace `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return jaegerTrace{}, err
	}
	if len(body.Data) == 0 {
		return jaegerTrace{}, fmt.Errorf("trace %s not found", traceID)
	}
	return body.Data[0], nil
}
