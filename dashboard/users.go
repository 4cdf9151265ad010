package dashboard

import (
	"fmt"
	"strings"
	"unicode"
)

// ParseUsers reads VLENSQ_DASHBOARD_USERS: comma-separated "user:bcrypt-hash"
// pairs, e.g. "alice:$2a$10$...,bob:$2y$12$..." (htpasswd -nbB prints the
// same form). Blank entries and surrounding spaces are ignored; "" gives no
// users. Errors name the bad entry by position and user, never the hash.
func ParseUsers(s string) (map[string]string, error) {
	users := map[string]string{}
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		user, hash, ok := strings.Cut(entry, ":")
		user, hash = strings.TrimSpace(user), strings.TrimSpace(hash)
		if !ok || hash == "" {
			return nil, fmt.Errorf("VLENSQ_DASHBOARD_USERS entry %d (user %q): want user:bcrypt-hash", i+1, user)
		}
		if _, dup := users[user]; dup {
			return nil, fmt.Errorf("VLENSQ_DASHBOARD_USERS entry %d: user %q appears twice", i+1, user)
		}
		if err := checkUser(user, hash); err != nil {
			return nil, fmt.Errorf("VLENSQ_DASHBOARD_USERS entry %d: %w", i+1, err)
		}
		users[user] = hash
	}
	return users, nil
}

func validUserName(u string) bool {
	if u == "" || len(u) > 64 {
		return false
	}
	for _, r := range u {
		if r == ':' || r == ',' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}
