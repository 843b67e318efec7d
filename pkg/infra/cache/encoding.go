package cache

import "fmt"

// Every value this cache stores in Redis starts with one marker byte; see doc.go.
const (
	markerValue    = 'v' // followed by the caller's bytes
	markerNotFound = 'n' // followed by the not-found message
)

func encodeValue(v []byte) []byte {
	b := make([]byte, 1+len(v))
	b[0] = markerValue
	copy(b[1:], v)
	return b
}

func encodeNotFound(message string) []byte {
	b := make([]byte, 1+len(message))
	b[0] = markerNotFound
	copy(b[1:], message)
	return b
}

// entry is a decoded Redis value. value aliases the bytes it was decoded from.
type entry struct {
	value    []byte
	notFound bool
	message  string // of a not-found entry
}

func decode(b []byte) (entry, error) {
	if len(b) == 0 {
		return entry{}, fmt.Errorf("%w: empty", errCorrupt)
	}
	switch b[0] {
	case markerValue:
		return entry{value: b[1:len(b):len(b)]}, nil
	case markerNotFound:
		return entry{notFound: true, message: string(b[1:])}, nil
	}
	return entry{}, fmt.Errorf("%w: unknown marker %q", errCorrupt, b[0])
}
