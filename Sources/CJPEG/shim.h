// libjpeg-turbo's libjpeg API (Debian: libjpeg62-turbo-dev).
//
// libjpeg's default error handler calls exit(); the usual replacement longjmps out of
// `error_exit`. Swift frames must never be jumped over, so each libjpeg session runs inside one
// of the C functions below, which own the setjmp point and return a status code plus a message.
#ifndef TWIN_CJPEG_SHIM_H
#define TWIN_CJPEG_SHIM_H

#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>

/// Result of a libjpeg session: owned output bytes (free with `free`), image size, message.
typedef struct {
    unsigned char *data;
    size_t size;
    unsigned width;
    unsigned height;
    char message[JMSG_LENGTH_MAX];
} twin_jpeg_result;

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    twin_jpeg_result *result;
} twin_jpeg_error;

static void twin_jpeg_on_error(j_common_ptr cinfo) {
    twin_jpeg_error *error = (twin_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, error->result->message);
    longjmp(error->jump, 1);
}

static void twin_jpeg_on_message(j_common_ptr cinfo) { (void)cinfo; }

/// Largest width or height accepted by `twin_jpeg_decode_rgb` (guards against huge allocations).
#define TWIN_JPEG_MAX_DIMENSION 16384u

/// Decodes a baseline or progressive JPEG to 8-bit RGB (`width * 3` bytes a row). Returns 0 with
/// `result->data` set on success, -1 with `result->message` set on failure.
static inline int twin_jpeg_decode_rgb(const unsigned char *bytes, size_t length,
                                       twin_jpeg_result *result)
{
    struct jpeg_decompress_struct cinfo;
    twin_jpeg_error error;
    unsigned char *volatile pixels = NULL;
    result->data = NULL;
    result->size = 0;
    result->width = 0;
    result->height = 0;
    result->message[0] = 0;
    cinfo.err = jpeg_std_error(&error.base);
    error.base.error_exit = twin_jpeg_on_error;
    error.base.output_message = twin_jpeg_on_message;
    error.result = result;
    if (setjmp(error.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes, (unsigned long)length);
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != 3 || cinfo.output_width > TWIN_JPEG_MAX_DIMENSION ||
        cinfo.output_height > TWIN_JPEG_MAX_DIMENSION) {
        strcpy(result->message, "unsupported JPEG dimensions or colour components");
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    size_t stride = (size_t)cinfo.output_width * 3;
    pixels = (unsigned char *)malloc(stride * cinfo.output_height);
    if (!pixels) {
        strcpy(result->message, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    result->width = cinfo.output_width;
    result->height = cinfo.output_height;
    result->size = stride * cinfo.output_height;
    result->data = pixels;
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

/// Encodes 8-bit RGB pixels as a baseline JPEG at `quality` (1...100, standard IJG tables,
/// 4:2:0 chroma subsampling). Returns 0 with `result->data` set, -1 with `result->message` set.
static inline int twin_jpeg_encode_rgb(const unsigned char *rgb, unsigned width, unsigned height,
                                       int quality, twin_jpeg_result *result)
{
    struct jpeg_compress_struct cinfo;
    twin_jpeg_error error;
    unsigned char *output = NULL;
    unsigned long output_size = 0;
    result->data = NULL;
    result->size = 0;
    result->width = width;
    result->height = height;
    result->message[0] = 0;
    cinfo.err = jpeg_std_error(&error.base);
    error.base.error_exit = twin_jpeg_on_error;
    error.base.output_message = twin_jpeg_on_message;
    error.result = result;
    if (setjmp(error.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(output);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &output, &output_size);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)width * 3;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + stride * cinfo.next_scanline);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    result->data = output;
    result->size = output_size;
    return 0;
}

#endif
