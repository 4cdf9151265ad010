package tasks

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// RequestBody returns the JSON body of the Vlens call: only spec.Fields that
// are set, under Vlens's names, with every image as base64 (blob references
// are fetched from blobs). A blob that is gone gives a *BlobMissingError
// naming the field (errors.Is ErrBlobMissing). A GET spec gives an empty map.
func (p *Payload) RequestBody(ctx context.Context, spec Spec, blobs BlobReader) (map[string]any, error) {
	body := make(map[string]any, len(spec.Fields))
	for _, name := range spec.Fields {
		if !p.has(name) {
			continue
		}
		switch name {
		case "image", "front_image", "back_image", "face_1", "face_2", "face_3":
			s, err := resolveImage(ctx, "payload."+name, *p.imageSlot(name), blobs)
			if err != nil {
				return nil, err
			}
			body[name] = s
		case "scanTransaction":
			scan := map[string]any{}
			for _, sub := range []string{"image", "face_1", "face_2", "face_3"} {
				slot := p.imageSlot("scanTransaction." + sub)
				if *slot == nil {
					continue
				}
				s, err := resolveImage(ctx, "payload.scanTransaction."+sub, *slot, blobs)
				if err != nil {
					return nil, err
				}
				scan[sub] = s
			}
			body[name] = scan
		default:
			v, _ := p.member(name)
			body[name] = v.Interface()
		}
	}
	return body, nil
}

// resolveImage returns the base64 text of an image, fetching a referenced
// blob.
func resolveImage(ctx context.Context, field string, im *Image, blobs BlobReader) (string, error) {
	if im.Ref == nil {
		return im.Inline, nil
	}
	if blobs == nil {
		return "", fmt.Errorf("tasks: %s refers to blob %s but no blob store is configured", field, im.Ref.Key)
	}
	data, err := blobs.Get(ctx, *im.Ref)
	if err != nil {
		if me, ok := errors.AsType[*BlobMissingError](err); ok {
			return "", &BlobMissingError{Field: field, Ref: me.Ref}
		}
		return "", fmt.Errorf("tasks: %s: %w", field, err)
	}
	return base64.StdEncoding.EncodeToString(data), nil
}

// PathFor returns spec.Path with its placeholders filled from the payload:
// {type_id} with TypeID and {requestId} with BusinessRequestID, path-escaped.
func (p *Payload) PathFor(spec Spec) string {
	return strings.NewReplacer(
		"{type_id}", strconv.Itoa(p.TypeID),
		"{requestId}", url.PathEscape(p.BusinessRequestID.String()),
	).Replace(spec.Path)
}
