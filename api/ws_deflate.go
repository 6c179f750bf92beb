package api

import (
	"bytes"
	"compress/flate"
	"io"
	"sync"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws/wsflate"
)

// Compression of server frames (permessage-deflate, RFC 7692).
//
// The server always answers with server_no_context_takeover and
// client_no_context_takeover: every message is compressed on its own, so a
// connection keeps no deflate state between messages (a compressor is
// borrowed from a pool for one message, then returned) and a snapshot frame
// compressed once serves every client that negotiated compression. Clients
// only send control frames, which are never compressed; a compressed data
// frame from a client is allowed and ignored like any other.

// deflateLevel trades ratio for speed; on snapshot JSON, BestSpeed keeps most
// of the ratio of the default level at a fraction of its cost.
const deflateLevel = flate.BestSpeed

// deflateMinSize is the smallest payload worth compressing: below it the
// saving does not pay for the work, and the frame goes uncompressed (RSV1
// unset), which the extension allows for any message.
const deflateMinSize = 256

// negotiateDeflate returns the Negotiate callback of a handshake and a
// function telling, after the upgrade, whether compression was agreed. An
// offer the server cannot honour (a server_max_window_bits, or a malformed
// parameter) is declined, not failed: the connection goes uncompressed.
func negotiateDeflate() (func(httphead.Option) (httphead.Option, error), func() bool) {
	ext := &wsflate.Extension{Parameters: wsflate.Parameters{
		ServerNoContextTakeover: true,
		ClientNoContextTakeover: true,
	}}
	negotiate := func(opt httphead.Option) (httphead.Option, error) {
		accept, err := ext.Negotiate(opt)
		if err != nil {
			return httphead.Option{}, nil
		}
		return accept, nil
	}
	accepted := func() bool {
		_, ok := ext.Accepted()
		return ok
	}
	return negotiate, accepted
}

// compressors holds deflate writers between messages; one costs about a
// megabyte, so connections borrow one per message rather than own one.
var compressors = sync.Pool{New: func() any {
	return wsflate.NewWriter(nil, func(w io.Writer) wsflate.Compressor {
		fw, _ := flate.NewWriter(w, deflateLevel) // the level is valid
		return fw
	})
}}

// deflate appends p compressed as one permessage-deflate message (without
// context takeover) to dst.
func deflate(dst *bytes.Buffer, p []byte) error {
	fw := compressors.Get().(*wsflate.Writer)
	defer compressors.Put(fw)
	fw.Reset(dst)
	if _, err := fw.Write(p); err != nil {
		return err
	}
	return fw.Flush()
}

// deflateShared compresses a payload shared by many clients (a snapshot
// frame).
func deflateShared(p []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(p) / 6)
	if err := deflate(&b, p); err != nil {
		return nil // writing to a bytes.Buffer does not fail
	}
	return b.Bytes()
}
