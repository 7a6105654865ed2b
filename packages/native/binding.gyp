{
  "targets": [
    {
      "target_name": "sculpt_native",
      "sources": ["native/sculpt_native.cc", "native/gemm_avx512.cc", "native/fused_conv.cc", "native/upsample.cc", "native/thin_conv.cc", "native/arg_reduce.cc", "native/style.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-fno-trapping-math"],
      "libraries": ["-lopenblas"]
    }
  ]
}
