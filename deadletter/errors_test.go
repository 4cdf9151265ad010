package deadletter

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{inputErr("since", "yesterday", "want an RFC3339 time"), `deadletter: since "yesterday": want an RFC3339 time`},
		{inputErr("filter", "", "give record ids or a filter"), `deadletter: filter: give record ids or a filter`},
		{notFound("record", "01X"), `deadletter: record "01X": not found`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	wrapped := fmt.Errorf("dlq show: %w", inputErr("code", "x", "not an integer"))
	var ie *InputError
	if !errors.As(wrapped, &ie) || ie.Field != "code" {
		t.Errorf("errors.As through a wrap failed: %v", wrapped)
	}
	if !errors.Is(fmt.Errorf("x: %w", notFound("task", "t")), ErrNotFound) {
		t.Error("notFound does not wrap ErrNotFound")
	}
}
