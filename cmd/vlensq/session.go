package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/tasks"
)

func newSessionCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "session", Short: "Manage end-user sessions (tokens for user-token tasks)"}
	var tenant, user string
	put := &cobra.Command{
		Use:   "put --tenant T --user U < tokens.json",
		Short: `Store a user's tokens, read as {"access_token","refresh_token"} JSON on stdin`,
		Long: `put stores an end user's Vlens tokens for verify:* and business:* tasks that name the user.
The tokens are read from stdin, never from flags (flags show up in process lists and shell history),
and are never printed. Workers refresh them when they expire and write the new ones back.

Needs: VLENSQ_REDIS, and to know the tenants as enqueue does (the tenants file without secrets,
or the tenants registry the workers publish to Redis); never the tenants' Vlens secrets.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tenant == "" || user == "" {
				return usageErr("--tenant and --user are required")
			}
			var in struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			dec := json.NewDecoder(io.LimitReader(g.stdin, 1<<20))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				return usageErr("stdin: want {\"access_token\",\"refresh_token\"} JSON: %s", jsonProblem(err))
			}
			switch {
			case strings.TrimSpace(in.AccessToken) == "":
				return usageErr("stdin: access_token is required")
			case strings.TrimSpace(in.RefreshToken) == "":
				return usageErr("stdin: refresh_token is required")
			}
			p, err := g.open(cmd.Context(), app.Options{}, tenantsPublic)
			if err != nil {
				return err
			}
			defer p.Close()
			err = p.Tasks.PutSession(cmd.Context(), tenant, user, in.AccessToken, in.RefreshToken)
			var ve *tasks.ValidationError
			if errors.As(err, &ve) && ve.Field == "tenant" {
				return usageErr("%v (%s)", err, unknownTenantHint(p.Directory))
			}
			if errors.As(err, &ve) {
				return usageErr("%v", err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "stored session of user %s (tenant %s)\n", user, tenant)
			return nil
		},
	}
	put.Flags().StringVar(&tenant, "tenant", "", "tenant name")
	put.Flags().StringVar(&user, "user", "", "end user name, as tasks name it in \"user\"")
	cmd.AddCommand(put)
	return cmd
}

// jsonProblem describes a JSON decoding error without echoing input (which
// may hold a token).
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case err == io.EOF:
		return "empty input"
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %s must be a %s", te.Field, te.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "malformed JSON"
}
