using System;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace LoadBalancerTools.TestKit
{
    /// <summary>A throwaway certificate for emulators that must speak TLS; no machine trusts it.</summary>
    public static class SelfSignedCertificate
    {
        public static X509Certificate2 Create(string ipAddress)
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=LoadBalancerTools test emulator", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Parse(ipAddress));
            request.CertificateExtensions.Add(san.Build());
            using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            // Kestrel needs the private key in a form it can use on every platform.
            return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
        }
    }
}
