{
  "targets": [
    {
      "target_name": "sha3_lanes",
      "sources": ["sha3_lanes.c"],
      "conditions": [
        ["target_arch != 'x64'", { "type": "none" }]
      ],
      "cflags": ["-O3", "-std=c11", "-Wall", "-Wextra"]
    }
  ]
}
