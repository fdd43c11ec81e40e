"""What crosses the network between camera and server: the versioned protobuf messages
(``oneadapt.proto``) and the DNNGrad feedback map. Imports no torch."""
