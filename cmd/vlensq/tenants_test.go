package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tenancy"
)

func TestTenantsPauseListResume(t *testing.T) {
	c := newCLI(t)
	rdb := redistest.Client(t, redistest.DBCmd)
	// The tenants commands know the tenants from the registry the workers
	// publish (they read no tenants file).
	publishDemoTenants(t)
	q := uniqueQueue(t)
	for i := range 3 {
		code, _, errb := c.run("", "enqueue", "--type", "ocr:aml", "--tenant", "demo-bank", "--queue", q,
			"--payload", fmt.Sprintf(`{"idNumber":"2900101123456%d","name":"Test Person"}`, i))
		if code != 0 {
			t.Fatalf("enqueue: exit %d: %s", code, errb)
		}
	}

	code, out, errb := c.run("", "tenants", "pause", "demo-bank", "--reason", "balance recharge pending", "--by", "alice")
	if code != 0 || !strings.Contains(out, "tenant demo-bank paused") {
		t.Fatalf("pause: exit %d, out %q, err %q", code, out, errb)
	}
	code, out, errb = c.run("", "tenants", "list", "--json")
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errb)
	}
	var list []tenancy.Status
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	var bank *tenancy.Status
	for i := range list {
		if list[i].Tenant == "demo-bank" {
			bank = &list[i]
		}
	}
	if bank == nil || bank.State != "paused" || bank.Pause == nil || bank.Pause.By != "alice" ||
		bank.Pause.Reason != "balance recharge pending" || bank.Backlog < 3 || bank.OldestWaiting.IsZero() {
		t.Fatalf("demo-bank in tenants list: %+v", bank)
	}
	code, out, _ = c.run("", "tenants", "list")
	if code != 0 || !strings.Contains(out, "paused") || !strings.Contains(out, "balance recharge pending") {
		t.Fatalf("tenants list table: exit %d\n%s", code, out)
	}

	code, out, errb = c.run("", "tenants", "resume", "demo-bank", "--by", "alice")
	if code != 0 || !strings.Contains(out, "resumed") {
		t.Fatalf("resume: exit %d, out %q, err %q", code, out, errb)
	}
	// The pause and the resume are on the outcome stream as tenant events,
	// without a task_id.
	events := tenantEvents(t, rdb, "demo-bank")
	if len(events) < 2 || events[len(events)-2] != tenancy.EventPaused || events[len(events)-1] != tenancy.EventResumed {
		t.Fatalf("tenant events on %s: %v", outcome.Stream, events)
	}
}

func TestTenantsPauseUnknownTenantNamesIt(t *testing.T) {
	c := newCLI(t)
	publishDemoTenants(t)
	code, _, errb := c.run("", "tenants", "pause", "no-such-bank")
	if code != 2 || !strings.Contains(errb, `"no-such-bank"`) || !strings.Contains(errb, "unknown tenant") {
		t.Fatalf("pause of an unknown tenant: exit %d, %q", code, errb)
	}
	code, _, errb = c.run("", "tenants", "resume", "demo-bank")
	if code != 2 || !strings.Contains(errb, "not paused") {
		t.Fatalf("resume of a running tenant: exit %d, %q", code, errb)
	}
}

func tenantEvents(t *testing.T, rdb *redis.Client, tenant string) []string {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), outcome.Stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.Values["tenant"] == tenant && m.Values["task_id"] == nil {
			out = append(out, fmt.Sprint(m.Values["event"]))
		}
	}
	return out
}
