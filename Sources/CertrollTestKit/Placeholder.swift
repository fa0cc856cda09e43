// CertrollTestKit
