// libpng 1.6 (Debian: libpng-dev).
//
// libpng reports errors by longjmp-ing out of its error callback. Swift frames must never be
// jumped over, so every libpng call that can fail runs inside the C functions below, which own
// the setjmp point and return a status code plus a message instead. Swift only calls these and
// libpng's simplified `png_image_*` API (which protects itself the same way).
#ifndef TWIN_CPNG_SHIM_H
#define TWIN_CPNG_SHIM_H

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/// Growable output buffer plus the error message of a failed libpng call.
typedef struct {
    unsigned char *data;
    size_t size;
    size_t capacity;
    char message[256];
} twin_png_state;

static void twin_png_on_error(png_structp png, png_const_charp message) {
    twin_png_state *state = (twin_png_state *)png_get_error_ptr(png);
    strncpy(state->message, message ? message : "libpng error", sizeof state->message - 1);
    state->message[sizeof state->message - 1] = 0;
    png_longjmp(png, 1);
}

static void twin_png_on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void twin_png_on_write(png_structp png, png_bytep bytes, png_size_t length) {
    twin_png_state *state = (twin_png_state *)png_get_io_ptr(png);
    if (state->size + length > state->capacity) {
        size_t capacity = state->capacity ? state->capacity : 4096;
        while (capacity < state->size + length) capacity *= 2;
        unsigned char *grown = (unsigned char *)realloc(state->data, capacity);
        if (!grown) png_error(png, "out of memory");
        state->data = grown;
        state->capacity = capacity;
    }
    memcpy(state->data + state->size, bytes, length);
    state->size += length;
}

static void twin_png_on_flush(png_structp png) { (void)png; }

/// Encodes 8-bit RGB pixels (row-major, `width * 3` bytes a row) as a PNG with sRGB, gAMA and
/// cHRM chunks and the given text entries. `text_international[i]` non-zero writes entry `i` as
/// an uncompressed UTF-8 iTXt chunk, zero as Latin-1 tEXt. Returns 0 and sets `state->data`
/// (free with `free`) on success; returns -1 with `state->message` set on failure.
static inline int twin_png_encode_rgb(
    const unsigned char *rgb, unsigned width, unsigned height, int compression_level,
    const char *const *text_keys, const char *const *text_values,
    const int *text_international, int text_count, twin_png_state *state)
{
    state->data = NULL;
    state->size = 0;
    state->capacity = 0;
    state->message[0] = 0;
    png_structp png = png_create_write_struct(
        PNG_LIBPNG_VER_STRING, state, twin_png_on_error, twin_png_on_warning);
    if (!png) {
        strcpy(state->message, "png_create_write_struct failed");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    png_textp volatile texts = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, info ? &info : NULL);
        free(texts);
        free(state->data);
        state->data = NULL;
        state->size = 0;
        if (!state->message[0]) strcpy(state->message, "png_create_info_struct failed");
        return -1;
    }
    png_set_write_fn(png, state, twin_png_on_write, twin_png_on_flush);
    png_set_compression_level(png, compression_level);
    // Paeth on every row and run-length matching only: on renders this encodes several times
    // faster than libpng's adaptive filters with zlib's default strategy, at about the same size
    // (docs/inference.md, "Delivery cost").
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_PAETH);
    png_set_compression_strategy(png, Z_RLE);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_sRGB_gAMA_and_cHRM(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
    if (text_count > 0) {
        texts = (png_textp)calloc((size_t)text_count, sizeof(png_text));
        if (!texts) png_error(png, "out of memory");
        for (int i = 0; i < text_count; i++) {
            texts[i].key = (png_charp)text_keys[i];
            texts[i].text = (png_charp)text_values[i];
            if (text_international[i]) {
                texts[i].compression = PNG_ITXT_COMPRESSION_NONE;
                texts[i].itxt_length = strlen(text_values[i]);
                texts[i].lang = (png_charp)"";
                texts[i].lang_key = (png_charp)"";
            } else {
                texts[i].compression = PNG_TEXT_COMPRESSION_NONE;
                texts[i].text_length = strlen(text_values[i]);
            }
        }
        png_set_text(png, info, texts, text_count);
    }
    png_write_info(png, info);
    for (unsigned y = 0; y < height; y++) {
        png_write_row(png, (png_const_bytep)(rgb + (size_t)y * width * 3));
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(texts);
    return 0;
}

#endif
