package deploy_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// yamlToJSON converts every document of a YAML file to JSON with Debian's
// python3-yaml (safe_load_all), which the machines of this project carry;
// the module takes no YAML dependency for one test.
func yamlToJSON(t *testing.T, path string) []map[string]any {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 with PyYAML is needed to validate %s (apt-get install python3-yaml): %v", path, err)
	}
	const script = `import json, sys, yaml
print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]))`
	out, err := exec.Command(py, "-c", script, path).Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("%s does not parse as YAML: %s", path, msg)
	}
	var docs []map[string]any
	if err := json.Unmarshal(out, &docs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return docs
}

// get walks a decoded document: get(d, "spec", "template", "spec").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

func str(v any, path ...any) string { s, _ := get(v, path...).(string); return s }

func num(v any, path ...any) float64 { f, _ := get(v, path...).(float64); return f }

// apiVersions are the kinds the manifests may use, with their API version.
var apiVersions = map[string]string{
	"ConfigMap": "v1", "Secret": "v1", "Service": "v1",
	"Deployment": "apps/v1", "PodDisruptionBudget": "policy/v1",
	"Kustomization": "kustomize.config.k8s.io/v1beta1",
}

func TestKubernetesManifests(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/k8s: %v", err)
	}
	objs := map[string]map[string]any{} // kind/name
	var resources []any
	for _, f := range files {
		for _, d := range yamlToJSON(t, f) {
			kind := str(d, "kind")
			if want, ok := apiVersions[kind]; !ok || str(d, "apiVersion") != want {
				t.Errorf("%s: kind %q apiVersion %q (want one of the known kinds with its API version)", f, kind, str(d, "apiVersion"))
				continue
			}
			if kind == "Kustomization" {
				resources = get(d, "resources").([]any)
				continue
			}
			name := str(d, "metadata", "name")
			if name == "" {
				t.Errorf("%s: %s without metadata.name", f, kind)
			}
			objs[kind+"/"+name] = d
		}
	}
	for _, r := range resources {
		if _, err := os.Stat(filepath.Join("k8s", r.(string))); err != nil {
			t.Errorf("kustomization lists %s: %v", r, err)
		}
	}
	if out, err := exec.Command("kubectl", "kustomize", "k8s").CombinedOutput(); err != nil {
		t.Errorf("kubectl kustomize deploy/k8s: %v\n%s", err, out)
	}

	shutdown, err := time.ParseDuration(str(objs["ConfigMap/vlensq"], "data", "VLENSQ_SHUTDOWN_TIMEOUT"))
	if err != nil {
		t.Fatalf("ConfigMap vlensq: VLENSQ_SHUTDOWN_TIMEOUT: %v", err)
	}
	for _, name := range []string{"vlensq-worker", "vlensq-dashboard"} {
		dep := objs["Deployment/"+name]
		if dep == nil {
			t.Fatalf("no Deployment %s", name)
		}
		checkDeployment(t, name, dep, objs)
		pdb := objs["PodDisruptionBudget/"+name]
		if pdb == nil {
			t.Errorf("no PodDisruptionBudget for %s", name)
		} else if !selects(get(pdb, "spec", "selector", "matchLabels"), get(dep, "spec", "template", "metadata", "labels")) {
			t.Errorf("PodDisruptionBudget %s selects no pod of the Deployment", name)
		}
	}
	grace := num(objs["Deployment/vlensq-worker"], "spec", "template", "spec", "terminationGracePeriodSeconds")
	if time.Duration(grace)*time.Second <= shutdown {
		t.Errorf("worker terminationGracePeriodSeconds %v must exceed VLENSQ_SHUTDOWN_TIMEOUT %v, or in-flight tasks are killed", grace, shutdown)
	}

	svc := objs["Service/vlensq-dashboard"]
	dash := objs["Deployment/vlensq-dashboard"]
	checkSharedSessionKey(t, dash)
	if svc == nil || !selects(get(svc, "spec", "selector"), get(dash, "spec", "template", "metadata", "labels")) {
		t.Fatalf("Service vlensq-dashboard missing or selecting no dashboard pod")
	}
	ports := containerPorts(dash)
	for _, p := range get(svc, "spec", "ports").([]any) {
		if tp := str(p, "targetPort"); tp != "" && !slices.Contains(ports, tp) {
			t.Errorf("Service vlensq-dashboard targets port %q, which the container does not name", tp)
		}
	}
}

func checkDeployment(t *testing.T, name string, dep map[string]any, objs map[string]map[string]any) {
	t.Helper()
	pod := get(dep, "spec", "template", "spec")
	if !selects(get(dep, "spec", "selector", "matchLabels"), get(dep, "spec", "template", "metadata", "labels")) {
		t.Errorf("%s: spec.selector does not match the pod labels", name)
	}
	if get(pod, "securityContext", "runAsNonRoot") != true || num(pod, "securityContext", "runAsUser") == 0 {
		t.Errorf("%s: pods must run as a numeric non-root user", name)
	}
	ports := containerPorts(dep)
	c := get(pod, "containers", 0)
	if str(c, "image") == "" {
		t.Errorf("%s: container without image", name)
	}
	for _, probe := range []struct{ field, path string }{{"readinessProbe", "/readyz"}, {"livenessProbe", "/healthz"}} {
		if got := str(c, probe.field, "httpGet", "path"); got != probe.path {
			t.Errorf("%s: %s path %q, want %s", name, probe.field, got, probe.path)
		}
		if port := str(c, probe.field, "httpGet", "port"); !slices.Contains(ports, port) {
			t.Errorf("%s: %s port %q is not a named container port %v", name, probe.field, port, ports)
		}
	}
	for _, ref := range get(c, "envFrom").([]any) {
		if n := str(ref, "configMapRef", "name"); n != "" && objs["ConfigMap/"+n] == nil {
			t.Errorf("%s: envFrom names ConfigMap %s, which is not in the manifests", name, n)
		}
	}
	if get(c, "securityContext", "allowPrivilegeEscalation") != false || get(c, "securityContext", "readOnlyRootFilesystem") != true {
		t.Errorf("%s: container must not escalate privileges and must have a read-only root filesystem", name)
	}
}

func containerPorts(dep map[string]any) []string {
	var out []string
	ps, _ := get(dep, "spec", "template", "spec", "containers", 0, "ports").([]any)
	for _, p := range ps {
		out = append(out, str(p, "name"))
	}
	return out
}

// selects reports whether every selector label is among labels.
func selects(selector, labels any) bool {
	s, _ := selector.(map[string]any)
	l, _ := labels.(map[string]any)
	if len(s) == 0 {
		return false
	}
	for k, v := range s {
		if l[k] != v {
			return false
		}
	}
	return true
}

// secretsUsed lists the Secrets a Deployment's pod reads: volumes,
// envFrom and env references.
func secretsUsed(dep map[string]any) []string {
	var out []string
	pod := get(dep, "spec", "template", "spec")
	vols, _ := get(pod, "volumes").([]any)
	for _, v := range vols {
		if n := str(v, "secret", "secretName"); n != "" {
			out = append(out, n)
		}
		srcs, _ := get(v, "projected", "sources").([]any)
		for _, s := range srcs {
			if n := str(s, "secret", "name"); n != "" {
				out = append(out, n)
			}
		}
	}
	cs, _ := get(pod, "containers").([]any)
	ics, _ := get(pod, "initContainers").([]any)
	for _, c := range append(cs, ics...) {
		refs, _ := get(c, "envFrom").([]any)
		for _, r := range refs {
			if n := str(r, "secretRef", "name"); n != "" {
				out = append(out, n)
			}
		}
		envs, _ := get(c, "env").([]any)
		for _, e := range envs {
			if n := str(e, "valueFrom", "secretKeyRef", "name"); n != "" {
				out = append(out, n)
			}
		}
	}
	return out
}

// envNames lists the environment variables a Deployment's containers set
// one by one (env), and those of the ConfigMaps they load (envFrom).
func envNames(dep map[string]any, objs map[string]map[string]any) []string {
	var out []string
	cs, _ := get(dep, "spec", "template", "spec", "containers").([]any)
	for _, c := range cs {
		envs, _ := get(c, "env").([]any)
		for _, e := range envs {
			out = append(out, str(e, "name"))
		}
		refs, _ := get(c, "envFrom").([]any)
		for _, r := range refs {
			data, _ := get(objs["ConfigMap/"+str(r, "configMapRef", "name")], "data").(map[string]any)
			for k := range data {
				out = append(out, k)
			}
		}
	}
	return out
}

// Least privilege: the Vlens secrets (the tenants Secret) reach the worker
// only. The dashboard reads no Secret that holds a tenants file or a Vlens
// credential, and is not told where a tenants file is.
func TestOnlyTheWorkerGetsVlensSecrets(t *testing.T) {
	t.Parallel()
	objs := map[string]map[string]any{}
	files, _ := filepath.Glob("k8s/*.yaml")
	for _, f := range files {
		for _, d := range yamlToJSON(t, f) {
			objs[str(d, "kind")+"/"+str(d, "metadata", "name")] = d
		}
	}
	holdsVlensSecret := func(secret string) bool {
		data, _ := get(objs["Secret/"+secret], "stringData").(map[string]any)
		for k, v := range data {
			s, _ := v.(string)
			if k == "tenants.json" || strings.Contains(k, "api_key") || strings.Contains(k, "password") ||
				strings.Contains(s, "api_key") || strings.Contains(s, "tenancy_name") {
				return true
			}
		}
		return false
	}
	if !holdsVlensSecret("vlensq-tenants") {
		t.Fatal("secret.example.yaml shows no Secret vlensq-tenants with the tenants file")
	}

	dash := objs["Deployment/vlensq-dashboard"]
	for _, s := range secretsUsed(dash) {
		if objs["Secret/"+s] == nil {
			t.Errorf("dashboard reads Secret %s, which secret.example.yaml does not show", s)
		}
		if holdsVlensSecret(s) {
			t.Errorf("dashboard reads Secret %s, which holds Vlens secrets", s)
		}
	}
	if slices.Contains(envNames(dash, objs), "VLENSQ_TENANTS") {
		t.Error("dashboard is given VLENSQ_TENANTS")
	}

	worker := objs["Deployment/vlensq-worker"]
	if !slices.Contains(secretsUsed(worker), "vlensq-tenants") {
		t.Fatal("the worker does not get the tenants Secret")
	}
	var tenantsPath string
	cs, _ := get(worker, "spec", "template", "spec", "containers").([]any)
	envs, _ := get(cs[0], "env").([]any)
	for _, e := range envs {
		if str(e, "name") == "VLENSQ_TENANTS" {
			tenantsPath = str(e, "value")
		}
	}
	mounted := false
	mounts, _ := get(cs[0], "volumeMounts").([]any)
	vols, _ := get(worker, "spec", "template", "spec", "volumes").([]any)
	for _, m := range mounts {
		for _, v := range vols {
			if str(v, "name") == str(m, "name") && str(v, "secret", "secretName") == "vlensq-tenants" &&
				tenantsPath == str(m, "mountPath")+"/tenants.json" {
				mounted = true
			}
		}
	}
	if !mounted {
		t.Errorf("the worker's VLENSQ_TENANTS %q is not tenants.json in the mounted vlensq-tenants Secret", tenantsPath)
	}
}

func TestSecretExampleHasTheTenantsFile(t *testing.T) {
	t.Parallel()
	var tenantsSecret map[string]any
	for _, d := range yamlToJSON(t, "k8s/secret.example.yaml") {
		if str(d, "metadata", "name") == "vlensq-tenants" {
			tenantsSecret = d
		}
	}
	raw := str(tenantsSecret, "stringData", "tenants.json")
	var tenants []map[string]any
	if err := json.Unmarshal([]byte(raw), &tenants); err != nil || len(tenants) == 0 || tenants[0]["tenancy_name"] == nil {
		t.Errorf("secret.example.yaml tenants.json is not a tenants list: %v", err)
	}
	for _, tn := range tenants {
		for _, f := range []string{"api_key_file", "password_file"} {
			if name, _ := tn[f].(string); name != "" && str(tenantsSecret, "stringData", name) == "" {
				t.Errorf("tenants.json %s %q is not a key of the Secret vlensq-tenants", f, name)
			}
		}
	}
	var example []map[string]any
	b, err := os.ReadFile("tenants.example.json")
	if err != nil || json.Unmarshal(b, &example) != nil || len(example) == 0 {
		t.Errorf("tenants.example.json is not a tenants list: %v", err)
	}
}

func TestComposeFile(t *testing.T) {
	t.Parallel()
	docs := yamlToJSON(t, "compose.yaml")
	if len(docs) != 1 {
		t.Fatalf("compose.yaml has %d documents", len(docs))
	}
	c := docs[0]
	services, _ := get(c, "services").(map[string]any)
	for _, s := range []string{"redis", "worker", "dashboard", "sandbox"} {
		if services[s] == nil {
			t.Errorf("compose.yaml has no service %s", s)
		}
	}
	redis := strings.Join(toStrings(get(services["redis"], "command")), " ")
	if !strings.Contains(redis, "--appendonly yes") {
		t.Errorf("redis command %q does not enable AOF persistence", redis)
	}
	if str(services["redis"], "volumes", 0) == "" {
		t.Errorf("redis keeps its AOF in no volume")
	}
	if n := num(services["worker"], "deploy", "replicas"); n < 2 {
		t.Errorf("worker replicas = %v, want 2", n)
	}
	if p := toStrings(get(services["sandbox"], "profiles")); !slices.Contains(p, "sandbox") {
		t.Errorf("sandbox service profiles %v, want [sandbox]", p)
	}
	// Tracing is optional: Jaeger only with its profile, and the workers'
	// OTLP endpoint empty (tracing off) unless the operator sets it.
	if p := toStrings(get(services["jaeger"], "profiles")); !slices.Contains(p, "tracing") {
		t.Errorf("jaeger service profiles %v, want [tracing]", p)
	}
	if e := str(services["worker"], "environment", "OTEL_EXPORTER_OTLP_ENDPOINT"); e != "${OTEL_EXPORTER_OTLP_ENDPOINT:-}" {
		t.Errorf("worker OTEL_EXPORTER_OTLP_ENDPOINT = %q, want it empty unless set", e)
	}
	for _, s := range []string{"worker", "dashboard"} {
		if profiles := get(services[s], "profiles"); profiles != nil {
			t.Errorf("%s must run without a profile, has %v", s, profiles)
		}
		if str(services[s], "environment", "VLENSQ_REDIS") != "redis://redis:6379/0" {
			t.Errorf("%s does not use the compose Redis", s)
		}
		if get(services[s], "depends_on", "redis", "condition") != "service_healthy" {
			t.Errorf("%s does not wait for a healthy Redis", s)
		}
	}
	// Least privilege: the tenants file is a secret of the worker (and the
	// sandbox) only; the dashboard gets none, and no tenants path.
	for _, s := range []string{"worker", "sandbox"} {
		if !slices.Contains(toStrings(get(services[s], "secrets")), "tenants") || str(services[s], "environment", "VLENSQ_TENANTS") != "/run/secrets/tenants" {
			t.Errorf("%s does not get the tenants secret at VLENSQ_TENANTS", s)
		}
	}
	if s := get(services["dashboard"], "secrets"); s != nil {
		t.Errorf("dashboard gets secrets %v; it needs none", s)
	}
	if get(services["dashboard"], "environment", "VLENSQ_TENANTS") != nil {
		t.Error("dashboard is given VLENSQ_TENANTS")
	}
	grace, err := time.ParseDuration(str(services["worker"], "stop_grace_period"))
	shutdown, err2 := time.ParseDuration(str(services["worker"], "environment", "VLENSQ_SHUTDOWN_TIMEOUT"))
	if err != nil || err2 != nil || grace <= shutdown {
		t.Errorf("worker stop_grace_period %v must exceed VLENSQ_SHUTDOWN_TIMEOUT %v (%v, %v)", grace, shutdown, err, err2)
	}
	if str(services["worker"], "image") == "" || str(get(services["worker"], "build"), "dockerfile") != "deploy/Dockerfile" {
		t.Errorf("worker does not build deploy/Dockerfile")
	}
}

func toStrings(v any) []string {
	var out []string
	s, _ := v.([]any)
	for _, x := range s {
		if y, ok := x.(string); ok {
			out = append(out, y)
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	var user string
	afterLastFrom := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, f[1])
			user, afterLastFrom = "", true
		case "USER":
			if afterLastFrom {
				user = f[1]
			}
		}
	}
	if len(froms) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a multi-stage build", len(froms))
	}
	if final := froms[len(froms)-1]; !strings.Contains(final, "distroless/static") && final != "scratch" {
		t.Errorf("final stage %s is not a minimal static base", final)
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("final stage runs as %q, want a non-root user", user)
	}
	if !strings.Contains(string(b), "CGO_ENABLED=0") {
		t.Errorf("binary is not built static (CGO_ENABLED=0)")
	}
}

// checkSharedSessionKey: with more than one dashboard replica, every pod must
// sign sessions with the same key, from the Secret, required (not optional),
// and the example Secret must show it.
func checkSharedSessionKey(t *testing.T, dash map[string]any) {
	t.Helper()
	if num(dash, "spec", "replicas") < 2 {
		return
	}
	found := false
	for _, c := range get(dash, "spec", "template", "spec", "containers").([]any) {
		envs, _ := get(c, "env").([]any)
		for _, e := range envs {
			if str(e, "name") != "VLENSQ_DASHBOARD_SESSION_KEY" {
				continue
			}
			ref := get(e, "valueFrom", "secretKeyRef")
			if ref == nil || str(ref, "name") != "vlensq-dashboard" || str(ref, "key") != "VLENSQ_DASHBOARD_SESSION_KEY" || get(ref, "optional") == true {
				t.Errorf("VLENSQ_DASHBOARD_SESSION_KEY must come, required, from Secret vlensq-dashboard key VLENSQ_DASHBOARD_SESSION_KEY: %v", e)
			}
			found = true
		}
	}
	if !found {
		t.Errorf("the dashboard runs %v replicas without a shared VLENSQ_DASHBOARD_SESSION_KEY: a session signed by one pod is refused by the other", num(dash, "spec", "replicas"))
	}
	var key string
	for _, d := range yamlToJSON(t, filepath.Join("k8s", "secret.example.yaml")) {
		if str(d, "metadata", "name") == "vlensq-dashboard" {
			key = str(d, "stringData", "VLENSQ_DASHBOARD_SESSION_KEY")
		}
	}
	if len(key) < 32 {
		t.Errorf("secret.example.yaml: Secret vlensq-dashboard's VLENSQ_DASHBOARD_SESSION_KEY %q, want an example of 32+ characters", key)
	}
}
