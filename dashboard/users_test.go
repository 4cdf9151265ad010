package dashboard

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseUsers(t *testing.T) {
	t.Parallel()
	h := aliceHash(t)
	h2y := "$2y$" + strings.TrimPrefix(h, "$2a$") // htpasswd -B writes $2y$
	tests := []struct {
		desc    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{"empty", "", map[string]string{}, ""},
		{"one", "alice:" + h, map[string]string{"alice": h}, ""},
		{"two with spaces and blanks", " alice:" + h + " ,, bob:" + h2y + ",", map[string]string{"alice": h, "bob": h2y}, ""},
		{"missing hash", "alice", nil, `entry 1 (user "alice"): want user:bcrypt-hash`},
		{"empty hash", "alice:" + h + ",bob:", nil, `entry 2 (user "bob")`},
		{"not bcrypt", "alice:secret-password", nil, `entry 1: user "alice": the password hash is not a bcrypt hash`},
		{"duplicate", "alice:" + h + ",alice:" + h, nil, `user "alice" appears twice`},
		{"bad name", "al ice:" + h, nil, `user "al ice"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := ParseUsers(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret-password") || strings.Contains(err.Error(), h) {
					t.Errorf("the error echoes a hash or password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
