using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Xml;
using System.Xml.Linq;

namespace LoadBalancerTools.Providers.AwsElbV2
{
    /// <summary>
    /// Reading the Query API's XML: elements are matched by local name, so the namespace (which AWS
    /// versions by API date) never decides whether a field is found.
    /// </summary>
    internal static class ElbV2Xml
    {
        /// <summary>The document, or null when the text is not XML. DTDs are refused: a response never needs one.</summary>
        public static XDocument? TryParse(string text)
        {
            if (string.IsNullOrWhiteSpace(text)) return null;
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
            try
            {
                using var reader = XmlReader.Create(new StringReader(text), settings);
                return XDocument.Load(reader);
            }
            catch (XmlException)
            {
                return null;
            }
        }

        public static XElement? Child(this XElement? element, string localName) =>
            element?.Elements().FirstOrDefault(e => e.Name.LocalName == localName);

        public static string? Text(this XElement? element, string localName)
        {
            var child = element.Child(localName);
            return child == null || child.IsEmpty ? null : child.Value.Trim();
        }

        public static int? Int(this XElement? element, string localName) =>
            int.TryParse(element.Text(localName), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : (int?)null;

        /// <summary>The items of a list element (&lt;Name&gt;&lt;member&gt;…&lt;/member&gt;&lt;/Name&gt;).</summary>
        public static IEnumerable<XElement> Members(this XElement? element, string listName) =>
            element.Child(listName)?.Elements().Where(e => e.Name.LocalName == "member") ?? Enumerable.Empty<XElement>();

        /// <summary>
        /// The element as plain dictionaries, lists and strings for the model's Raw property: a
        /// PowerShell user can dot into it without knowing XML.
        /// </summary>
        public static object? ToRaw(XElement element)
        {
            var children = element.Elements().ToList();
            if (children.Count == 0) return element.IsEmpty ? null : element.Value;
            if (children.All(c => c.Name.LocalName == "member")) return children.Select(ToRaw).ToList();
            var result = new Dictionary<string, object?>();
            foreach (var child in children) result[child.Name.LocalName] = ToRaw(child);
            return result;
        }
    }
}
