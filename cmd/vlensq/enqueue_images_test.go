package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/tasks"
)

// An NDJSON line names its images by file, relative to the file's own
// directory; the CLI reads them and the queue holds claim-check references.
func TestEnqueueFileReadsImagesByPathRelativeToTheFile(t *testing.T) {
	c := newCLI(t)
	q := uniqueQueue(t)
	dir := t.TempDir()
	raw, _ := base64.StdEncoding.DecodeString(png1x1)
	for i, name := range []string{"front.png", "back.png", "f1.png", "f2.png", "f3.png"} {
		if err := os.WriteFile(filepath.Join(dir, name), append(bytes.Clone(raw), byte(i)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	lines := []string{
		`{"type":"verify:identity","tenant":"demo-fintech","queue":"` + q + `","id":"v1","payload":{"user":"u1",` +
			`"front_image":"@front.png","back_image":"@back.png","face_1":"@f1.png","face_2":"@f2.png","face_3":"@f3.png"}}`,
		`{"type":"verify:identity","tenant":"demo-fintech","queue":"` + q + `","id":"v2","payload":{"user":"u1",` +
			`"front_image":"@missing.png","back_image":"@back.png","face_1":"@f1.png","face_2":"@f2.png","face_3":"@f3.png"}}`,
	}
	f := filepath.Join(dir, "tasks.ndjson")
	if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Run from elsewhere: names resolve against the NDJSON file's directory.
	code, out, stderr := c.run("", "enqueue", "--file", f)
	if code != 2 || !strings.Contains(out, "enqueued 1,") || !strings.Contains(out, "line 2: payload.front_image: image file:") {
		t.Fatalf("exit %d out %q err %q", code, out, stderr)
	}
	insp := asynq.NewInspector(redistest.Opt(t, redistest.DBCmd))
	defer insp.Close()
	info, err := insp.GetTaskInfo(q, "v1")
	if err != nil {
		t.Fatal(err)
	}
	p, err := tasks.DecodePayload(info.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if p.FrontImage == nil || p.FrontImage.Ref == nil || p.FrontImage.Ref.Size != len(raw)+1 {
		t.Errorf("front_image %v, want a blob reference to the file's %d bytes", p.FrontImage, len(raw)+1)
	}
}
