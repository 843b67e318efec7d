package httpapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/goccy/go-yaml"
)

// OpenAPIYAML is the API's contract, written by hand; the tests fail when a route is missing
// from it or a response does not match it.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// apiDocs is the contract as JSON and as an HTML page; the YAML is served as embedded.
type apiDocs struct {
	json, page []byte
}

// loadAPIDocs builds the served forms once per process, however many routers are made.
var loadAPIDocs = sync.OnceValues(newAPIDocs)

// newAPIDocs converts the embedded document to JSON and renders its page. It fails only when
// the embedded document is broken, which the tests catch.
func newAPIDocs() (apiDocs, error) {
	j, err := yaml.YAMLToJSON(OpenAPIYAML)
	if err != nil {
		return apiDocs{}, fmt.Errorf("openapi.yaml: %w", err)
	}
	var d document
	if err := json.Unmarshal(j, &d); err != nil {
		return apiDocs{}, fmt.Errorf("openapi.yaml: %w", err)
	}
	var page bytes.Buffer
	if err := docsPage.Execute(&page, d.view()); err != nil {
		return apiDocs{}, fmt.Errorf("docs page: %w", err)
	}
	return apiDocs{json: j, page: page.Bytes()}, nil
}

// register serves the contract: /openapi.json and /openapi.yaml for tools, /docs for people.
// The page is self-contained, so it renders where the API has no internet access.
func (a apiDocs) register(r gin.IRoutes) {
	r.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, contentTypeJSON, a.json) })
	r.GET("/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml; charset=utf-8", OpenAPIYAML) })
	r.GET("/docs", func(c *gin.Context) { c.Data(http.StatusOK, "text/html; charset=utf-8", a.page) })
}

// document is the part of an OpenAPI 3.0 document the page shows.
type document struct {
	Info struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description"`
	} `json:"info"`
	Tags []struct {
		Name string `json:"name"`
	} `json:"tags"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Parameters map[string]parameter `json:"parameters"`
		Responses  map[string]response  `json:"responses"`
		Schemas    map[string]schema    `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	Tags        []string              `json:"tags"`
	Summary     string                `json:"summary"`
	Description string                `json:"description"`
	Role        string                `json:"x-role"`
	Security    []map[string][]string `json:"security"`
	Parameters  []parameter           `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct{ Schema schema } `json:"content"`
	} `json:"requestBody"`
	Responses map[string]response `json:"responses"`
}

type parameter struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
	Schema   schema `json:"schema"`
}

type response struct {
	Ref         string                             `json:"$ref"`
	Description string                             `json:"description"`
	Content     map[string]struct{ Schema schema } `json:"content"`
}

type schema struct {
	Ref                  string            `json:"$ref"`
	Type                 string            `json:"type"`
	Format               string            `json:"format"`
	Nullable             bool              `json:"nullable"`
	Enum                 []any             `json:"enum"`
	Description          string            `json:"description"`
	Items                *schema           `json:"items"`
	Required             []string          `json:"required"`
	Properties           map[string]schema `json:"properties"`
	AdditionalProperties json.RawMessage   `json:"additionalProperties"`
}

// typeName is a short reading of a schema: a component's name, or its type.
func (s schema) typeName() string {
	switch {
	case s.Ref != "":
		return refName(s.Ref)
	case s.Type == "array" && s.Items != nil:
		return "[" + s.Items.typeName() + "]"
	case s.Type == "object" && len(s.AdditionalProperties) > 0 && s.AdditionalProperties[0] == '{':
		var v schema
		if json.Unmarshal(s.AdditionalProperties, &v) == nil {
			return "{string: " + v.typeName() + "}"
		}
	}
	t := s.Type
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	if len(s.Enum) > 0 {
		vals := make([]string, len(s.Enum))
		for i, e := range s.Enum {
			vals[i] = fmt.Sprint(e)
		}
		t += ": " + strings.Join(vals, " | ")
	}
	if s.Nullable {
		t += ", or null"
	}
	return t
}

func refName(ref string) string { return ref[strings.LastIndexByte(ref, '/')+1:] }

// The page's view of the document.
type (
	pageView struct {
		Title, Version, Description string
		Groups                      []opGroup
		Schemas                     []schemaView
	}
	opGroup struct {
		Tag string
		Ops []opView
	}
	opView struct {
		Method, Path, Summary, Description, Auth, Request string
		Params                                            []string
		Responses                                         []respView
	}
	respView struct {
		Status, Description, ContentType string
		Schema                           string // a component's name, when Ref
		Ref                              bool
	}
	schemaView struct {
		Name, Description string
		Fields            []fieldView
	}
	fieldView struct {
		Name, Type, Description string
		Required                bool
	}
)

var methodOrder = map[string]int{"get": 0, "post": 1, "put": 2, "patch": 3, "delete": 4}

func (d document) view() pageView {
	v := pageView{Title: d.Info.Title, Version: d.Info.Version, Description: d.Info.Description}
	order := make([]string, 0, len(d.Tags))
	for _, t := range d.Tags {
		order = append(order, t.Name)
	}
	byTag := map[string][]opView{}
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		var shared []parameter
		if raw, ok := d.Paths[p]["parameters"]; ok {
			_ = json.Unmarshal(raw, &shared)
		}
		methods := make([]string, 0, len(d.Paths[p]))
		for m := range d.Paths[p] {
			if _, ok := methodOrder[m]; ok {
				methods = append(methods, m)
			}
		}
		sort.Slice(methods, func(i, j int) bool { return methodOrder[methods[i]] < methodOrder[methods[j]] })
		for _, m := range methods {
			var op operation
			_ = json.Unmarshal(d.Paths[p][m], &op)
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			if !contains(order, tag) {
				order = append(order, tag)
			}
			byTag[tag] = append(byTag[tag], d.opView(strings.ToUpper(m), p, op, shared))
		}
	}
	for _, t := range order {
		if len(byTag[t]) > 0 {
			v.Groups = append(v.Groups, opGroup{Tag: t, Ops: byTag[t]})
		}
	}

	names := make([]string, 0, len(d.Components.Schemas))
	for n := range d.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := d.Components.Schemas[n]
		sv := schemaView{Name: n, Description: s.Description}
		fields := make([]string, 0, len(s.Properties))
		for f := range s.Properties {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			p := s.Properties[f]
			sv.Fields = append(sv.Fields, fieldView{Name: f, Type: p.typeName(), Description: p.Description,
				Required: contains(s.Required, f)})
		}
		if len(fields) == 0 {
			sv.Fields = append(sv.Fields, fieldView{Name: "(value)", Type: s.typeName()})
		}
		v.Schemas = append(v.Schemas, sv)
	}
	return v
}

func (d document) opView(method, path string, op operation, shared []parameter) opView {
	o := opView{Method: method, Path: path, Summary: op.Summary, Description: op.Description, Auth: "none"}
	for _, req := range op.Security {
		if _, ok := req["bearerAuth"]; ok {
			o.Auth = "bearer token"
		}
	}
	if o.Auth != "none" && len(op.Security) > 1 {
		o.Auth = "optional bearer token"
	}
	if op.Role != "" {
		o.Auth += " (" + op.Role + ")"
	}
	for _, p := range append(shared, op.Parameters...) {
		if p.Ref != "" {
			p = d.Components.Parameters[refName(p.Ref)]
		}
		s := p.Name + " in " + p.In + ": " + p.Schema.typeName()
		if p.Required {
			s += ", required"
		}
		o.Params = append(o.Params, s)
	}
	if op.RequestBody != nil {
		for _, c := range op.RequestBody.Content {
			o.Request = c.Schema.typeName()
		}
	}
	statuses := make([]string, 0, len(op.Responses))
	for s := range op.Responses {
		statuses = append(statuses, s)
	}
	sort.Strings(statuses)
	for _, s := range statuses {
		r := op.Responses[s]
		if r.Ref != "" {
			r = d.Components.Responses[refName(r.Ref)]
		}
		rv := respView{Status: s, Description: r.Description}
		for ct, c := range r.Content {
			rv.ContentType, rv.Schema, rv.Ref = ct, c.Schema.typeName(), c.Schema.Ref != ""
		}
		o.Responses = append(o.Responses, rv)
	}
	return o
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; text-transform: capitalize; }
.op { border: 1px solid #ddd; border-radius: 4px; padding: .5rem .8rem; margin: .8rem 0; }
.op h3 { margin: 0; font-size: 1rem; }
.m { display: inline-block; min-width: 4.5rem; font-family: monospace; font-weight: bold; }
.GET { color: #1a6; } .POST { color: #17c; } .PUT { color: #a60; } .PATCH { color: #a60; } .DELETE { color: #c33; }
code, .path { font-family: monospace; }
table { border-collapse: collapse; margin: .3rem 0; }
td, th { padding: .1rem .6rem .1rem 0; text-align: left; vertical-align: top; }
.muted { color: #666; }
pre { white-space: pre-wrap; }
</style>
</head>
<body>
<h1>{{.Title}} <span class="muted">v{{.Version}}</span></h1>
<pre>{{.Description}}</pre>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a>, <a href="/openapi.yaml">/openapi.yaml</a>.</p>
<nav>{{range .Groups}}<a href="#{{.Tag}}">{{.Tag}}</a> · {{end}}<a href="#schemas">schemas</a></nav>
{{range .Groups}}
<h2 id="{{.Tag}}">{{.Tag}}</h2>
{{range .Ops}}<div class="op" id="{{.Method}}{{.Path}}">
<h3><span class="m {{.Method}}">{{.Method}}</span><span class="path">{{.Path}}</span> <span class="muted">— {{.Summary}}</span></h3>
{{if .Description}}<p>{{.Description}}</p>{{end}}
<table>
<tr><th>auth</th><td>{{.Auth}}</td></tr>
{{if .Params}}<tr><th>parameters</th><td>{{range .Params}}<code>{{.}}</code><br>{{end}}</td></tr>{{end}}
{{if .Request}}<tr><th>body</th><td><a href="#schema-{{.Request}}">{{.Request}}</a></td></tr>{{end}}
<tr><th>responses</th><td><table>{{range .Responses}}<tr><td><b>{{.Status}}</b></td><td>{{if .Ref}}<a href="#schema-{{.Schema}}">{{.Schema}}</a>{{else}}{{.Schema}}{{end}}{{with .ContentType}} <span class="muted">{{.}}</span>{{end}}</td><td class="muted">{{.Description}}</td></tr>{{end}}</table></td></tr>
</table>
</div>
{{end}}{{end}}
<h2 id="schemas">schemas</h2>
{{range .Schemas}}<div class="op" id="schema-{{.Name}}">
<h3>{{.Name}}</h3>{{if .Description}}<p>{{.Description}}</p>{{end}}
<table>{{range .Fields}}<tr><td><code>{{.Name}}</code>{{if .Required}} *{{end}}</td><td><code>{{.Type}}</code></td><td class="muted">{{.Description}}</td></tr>{{end}}</table>
</div>
{{end}}
<p class="muted">* required</p>
</body>
</html>
`))
