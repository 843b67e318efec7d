package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Defaults returns a T (a piece, or a binary's struct of pieces) holding the default of every
// field whose tag names one, whatever the environment holds: what a deployment that sets no
// variable runs with. Tests and benchmarks build the libraries' configurations from it, so that
// they measure what ships and a default is written only in its tag. It panics on a default its
// own field cannot hold, which TestDefaultsDecode rules out for every piece.
func Defaults[T any]() T {
	var v T
	if err := fillDefaults(reflect.ValueOf(&v).Elem()); err != nil {
		panic(fmt.Sprintf("config: %T: %v", v, err))
	}
	return v
}

func fillDefaults(v reflect.Value) error {
	t := v.Type()
	for i := range t.NumField() {
		f, sf := v.Field(i), t.Field(i)
		if !sf.IsExported() {
			continue
		}
		if sf.Anonymous && f.Kind() == reflect.Struct {
			if err := fillDefaults(f); err != nil {
				return err
			}
			continue
		}
		def, ok := sf.Tag.Lookup("default")
		if !ok {
			continue
		}
		if err := decodeDefault(f, def); err != nil {
			return fmt.Errorf("%s: default %q: %w", sf.Tag.Get("envconfig"), def, err)
		}
	}
	return nil
}

// decodeDefault parses def into f as envconfig would: through the field's Decoder when it has
// one, else by its kind. It covers the kinds the pieces use.
func decodeDefault(f reflect.Value, def string) error {
	switch d := f.Addr().Interface().(type) {
	case envconfig.Decoder:
		return d.Decode(def)
	case encoding.TextUnmarshaler:
		return d.UnmarshalText([]byte(def))
	}
	if f.Type() == reflect.TypeFor[time.Duration]() {
		d, err := time.ParseDuration(def)
		f.SetInt(int64(d))
		return err
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(def)
	case reflect.Bool:
		b, err := strconv.ParseBool(def)
		f.SetBool(b)
		return err
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(def, 10, f.Type().Bits())
		f.SetInt(n)
		return err
	case reflect.Slice:
		parts := strings.Split(def, ",")
		s := reflect.MakeSlice(f.Type(), len(parts), len(parts))
		for i, p := range parts {
			if err := decodeDefault(s.Index(i), p); err != nil {
				return err
			}
		}
		f.Set(s)
	default:
		return fmt.Errorf("no decoder for %s", f.Type())
	}
	return nil
}

// Variables returns the name of every environment variable T (a piece, or a binary's struct of
// pieces) reads, in the order of its fields.
func Variables[T any]() []string {
	var names []string
	eachVariable(reflect.TypeFor[T](), func(name string, _ reflect.StructTag) { names = append(names, name) })
	return names
}

// DefaultTexts maps the name of every environment variable T reads to its default as written
// in its tag and printed by --help, "" for a variable without one.
func DefaultTexts[T any]() map[string]string {
	defaults := map[string]string{}
	eachVariable(reflect.TypeFor[T](), func(name string, tag reflect.StructTag) { defaults[name] = tag.Get("default") })
	return defaults
}

// eachVariable calls fn with the name and tag of every field of t, and of the structs t
// embeds, that names an environment variable.
func eachVariable(t reflect.Type, fn func(name string, tag reflect.StructTag)) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			eachVariable(f.Type, fn)
		} else if name := f.Tag.Get("envconfig"); name != "" && f.IsExported() {
			fn(name, f.Tag)
		}
	}
}
