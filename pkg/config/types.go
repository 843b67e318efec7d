package config

import (
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
)

// ByteSize is a size in bytes that reads "67108864", "64MiB", "512KiB" or "1GiB".
type ByteSize int64

// Decode implements envconfig.Decoder.
func (b *ByteSize) Decode(value string) error {
	s := strings.TrimSpace(value)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("want a byte count such as 67108864 or 64MiB")
	}
	*b = ByteSize(n * mult)
	return nil
}

// LogFormat is "json" (the default, for log collectors) or "text" (for people).
type LogFormat string

// Decode implements envconfig.Decoder.
func (f *LogFormat) Decode(value string) error {
	switch v := strings.ToLower(strings.TrimSpace(value)); v {
	case "json", "text":
		*f = LogFormat(v)
		return nil
	}
	return fmt.Errorf("want json or text")
}

// LogLevel is a slog level by name.
type LogLevel string

// Decode implements envconfig.Decoder.
func (l *LogLevel) Decode(value string) error {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.TrimSpace(value))); err != nil {
		return fmt.Errorf("want debug, info, warn or error")
	}
	*l = LogLevel(strings.ToLower(lv.String()))
	return nil
}

// Level returns the slog level; an unset value means info.
func (l LogLevel) Level() slog.Level {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l)); err != nil {
		return slog.LevelInfo
	}
	return lv
}

// pieces returns every Validator among cfg and its embedded structs, outermost last so that a
// binary's own checks run after those of the pieces it is built from.
func pieces(cfg any) []Validator {
	var out []Validator
	v := reflect.ValueOf(cfg)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct {
		for i := range v.NumField() {
			f := v.Field(i)
			if !v.Type().Field(i).Anonymous || !f.CanInterface() {
				continue
			}
			if val, ok := f.Interface().(Validator); ok {
				out = append(out, val)
			}
		}
	}
	if val, ok := cfg.(Validator); ok {
		out = append(out, val)
	}
	return out
}
