using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace HelpBuilder;

/// <summary>A type as metadata names it; enough to print it and to find an enum's values.</summary>
internal sealed class TypeName
{
    public string Namespace { get; init; } = "";
    public string Name { get; init; } = "";
    public TypeName? DeclaringType { get; init; }
    public TypeName? ElementType { get; init; }
    public ImmutableArray<TypeName> GenericArguments { get; init; } = ImmutableArray<TypeName>.Empty;
    /// <summary>Simple name of the assembly that defines it, or null for the one being read.</summary>
    public string? Assembly { get; init; }
    /// <summary>Set when the type is defined in an assembly that is open: where to read its definition.</summary>
    public MetadataReader? Reader { get; init; }
    public TypeDefinitionHandle Handle { get; init; }

    public bool IsNullable => ElementType == null && Namespace == "System" && Name == "Nullable`1" && GenericArguments.Length == 1;
    public bool IsSwitch => FullName == "System.Management.Automation.SwitchParameter";

    /// <summary>Nullable&lt;T&gt; is T to a PowerShell user: an optional parameter, not a different type.</summary>
    public TypeName Unwrapped => IsNullable ? GenericArguments[0].Unwrapped : this;

    public string FullName
    {
        get
        {
            if (ElementType != null) return ElementType.FullName + "[]";
            string name = DeclaringType != null ? DeclaringType.FullName + "+" + Name : (Namespace.Length > 0 ? Namespace + "." + Name : Name);
            if (GenericArguments.Length > 0) name += "[" + string.Join(",", GenericArguments.Select(a => a.FullName)) + "]";
            return name;
        }
    }

    /// <summary>The short name Get-Help shows in syntax: String, Int32[], LbConnection.</summary>
    public string DisplayName
    {
        get
        {
            if (IsNullable) return GenericArguments[0].DisplayName;
            if (ElementType != null) return ElementType.DisplayName + "[]";
            int tick = Name.IndexOf('`');
            string name = tick >= 0 ? Name.Substring(0, tick) : Name;
            if (GenericArguments.Length > 0) name += "[" + string.Join(",", GenericArguments.Select(a => a.DisplayName)) + "]";
            return name;
        }
    }

    public override string ToString() => FullName;
}

internal sealed class ParameterSetEntry
{
    public string SetName { get; init; } = "";
    public bool Mandatory { get; init; }
    /// <summary>Null when named.</summary>
    public int? Position { get; init; }
    public bool ByValue { get; init; }
    public bool ByPropertyName { get; init; }
}

internal sealed class ParameterMeta
{
    public string Name { get; init; } = "";
    public TypeName Type { get; init; } = new TypeName();
    public List<string> Aliases { get; } = new List<string>();
    public bool Wildcards { get; set; }
    public List<ParameterSetEntry> Sets { get; } = new List<ParameterSetEntry>();
    /// <summary>Values of an enum type (or ValidateSet), for the {A | B} syntax.</summary>
    public List<string> ValidValues { get; } = new List<string>();
    /// <summary>-WhatIf and -Confirm, added by PowerShell for SupportsShouldProcess.</summary>
    public bool IsShouldProcess { get; init; }
    /// <summary>Declaration order: the class's own parameters first, then its base classes'.</summary>
    public int Order { get; init; }
}

internal sealed class CmdletMeta
{
    public string Verb { get; init; } = "";
    public string Noun { get; init; } = "";
    public string Name => Verb + "-" + Noun;
    public string TypeName { get; init; } = "";
    public bool SupportsShouldProcess { get; init; }
    public string? DefaultParameterSetName { get; init; }
    public List<ParameterMeta> Parameters { get; } = new List<ParameterMeta>();
    public List<string> OutputTypes { get; } = new List<string>();

    public const string AllSets = "__AllParameterSets";

    /// <summary>Parameter sets as PowerShell forms them: the named sets (plus a default set no parameter names), or one set for all.</summary>
    public List<string> ParameterSetNames()
    {
        var names = new List<string>();
        foreach (var p in Parameters)
        {
            foreach (var s in p.Sets)
            {
                if (s.SetName != AllSets && !names.Contains(s.SetName)) names.Add(s.SetName);
            }
        }
        if (DefaultParameterSetName != null && DefaultParameterSetName != AllSets && !names.Contains(DefaultParameterSetName))
        {
            names.Add(DefaultParameterSetName);
        }
        if (names.Count == 0) names.Add(AllSets);
        // The default set is listed first, as Get-Command does.
        if (DefaultParameterSetName != null && names.Remove(DefaultParameterSetName)) names.Insert(0, DefaultParameterSetName);
        return names;
    }

    /// <summary>The parameters of one set, with their entry for that set, in PowerShell's display order.</summary>
    public List<(ParameterMeta Parameter, ParameterSetEntry Entry)> ParametersOf(string set)
    {
        var members = new List<(ParameterMeta, ParameterSetEntry)>();
        foreach (var p in Parameters)
        {
            var entry = p.Sets.FirstOrDefault(s => s.SetName == set) ?? p.Sets.FirstOrDefault(s => s.SetName == AllSets);
            if (entry != null) members.Add((p, entry));
        }
        // Positional by position, then mandatory named, then the rest, then -WhatIf/-Confirm (as Get-Command shows them).
        return members
            .OrderBy(m => m.Item1.IsShouldProcess ? 3 : m.Item2.Position.HasValue ? 0 : m.Item2.Mandatory ? 1 : 2)
            .ThenBy(m => m.Item2.Position ?? 0)
            .ThenBy(m => m.Item1.Order)
            .ToList();
    }
}

/// <summary>
/// Reads cmdlets from a compiled assembly without loading it (System.Reflection.Metadata is part of
/// .NET), so the tool needs neither PowerShell nor the module's dependencies at build time. Base
/// classes and enums defined in sibling assemblies (LoadBalancerTools.Engine.dll) are read from the
/// same folder.
/// </summary>
internal sealed class CmdletMetadata : IDisposable
{
    private const string Sma = "System.Management.Automation";
    private readonly string _directory;
    private MetadataReader? _main;
    private readonly Dictionary<string, (PEReader Pe, MetadataReader Reader)?> _assemblies = new Dictionary<string, (PEReader, MetadataReader)?>(StringComparer.OrdinalIgnoreCase);

    private CmdletMetadata(string directory)
    {
        _directory = directory;
    }

    public void Dispose()
    {
        foreach (var entry in _assemblies.Values) entry?.Pe.Dispose();
    }

    public static List<CmdletMeta> Read(string assemblyPath)
    {
        using var metadata = new CmdletMetadata(Path.GetDirectoryName(Path.GetFullPath(assemblyPath))!);
        var main = metadata.Open(assemblyPath) ?? throw new InvalidDataException($"{assemblyPath} is not a .NET assembly.");
        metadata._main = main.Reader;
        var result = new List<CmdletMeta>();
        foreach (var handle in main.Reader.TypeDefinitions)
        {
            var type = main.Reader.GetTypeDefinition(handle);
            var attributes = type.Attributes;
            bool isPublic = (attributes & TypeAttributes.VisibilityMask) == TypeAttributes.Public;
            if (!isPublic || (attributes & TypeAttributes.Abstract) != 0) continue;
            var cmdlet = metadata.ReadCmdlet(main.Reader, type);
            if (cmdlet != null) result.Add(cmdlet);
        }
        return result.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
    }

    private (PEReader Pe, MetadataReader Reader)? Open(string path)
    {
        var pe = new PEReader(File.OpenRead(path));
        if (!pe.HasMetadata)
        {
            pe.Dispose();
            return null;
        }
        var reader = pe.GetMetadataReader();
        var entry = (pe, reader);
        _assemblies[reader.GetString(reader.GetAssemblyDefinition().Name)] = entry;
        return entry;
    }

    /// <summary>A sibling assembly by simple name, or null when it is not beside the cmdlet assembly (framework, PowerShell).</summary>
    private MetadataReader? Assembly(string name)
    {
        if (_assemblies.TryGetValue(name, out var entry)) return entry?.Reader;
        string path = Path.Combine(_directory, name + ".dll");
        if (!File.Exists(path))
        {
            _assemblies[name] = null;
            return null;
        }
        return Open(path)?.Reader;
    }

    private CmdletMeta? ReadCmdlet(MetadataReader reader, TypeDefinition type)
    {
        var provider = new TypeProvider(reader);
        CustomAttributeValue<TypeName>? cmdletAttribute = null;
        var outputTypes = new List<string>();
        foreach (var handle in type.GetCustomAttributes())
        {
            var attribute = reader.GetCustomAttribute(handle);
            string name = AttributeName(reader, attribute);
            if (name == Sma + ".CmdletAttribute") cmdletAttribute = attribute.DecodeValue(provider);
            else if (name == Sma + ".OutputTypeAttribute") outputTypes.AddRange(OutputTypes(attribute.DecodeValue(provider)));
        }
        if (cmdletAttribute == null) return null;

        var value = cmdletAttribute.Value;
        var cmdlet = new CmdletMeta
        {
            Verb = (string)value.FixedArguments[0].Value!,
            Noun = (string)value.FixedArguments[1].Value!,
            TypeName = TypeFullName(reader, type),
            SupportsShouldProcess = Named(value, "SupportsShouldProcess") is true,
            DefaultParameterSetName = Named(value, "DefaultParameterSetName") as string,
        };
        cmdlet.OutputTypes.AddRange(outputTypes.Where(t => t != "System.Void"));

        int order = 0;
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        // The class, then each base class: a derived class's parameter hides a base one of the same name.
        MetadataReader? current = reader;
        TypeDefinition? currentType = type;
        while (current != null && currentType != null)
        {
            foreach (var parameter in ReadParameters(current, currentType.Value, ref order))
            {
                if (seen.Add(parameter.Name)) cmdlet.Parameters.Add(parameter);
            }
            (current, currentType) = BaseType(current!, currentType.Value);
        }

        if (cmdlet.SupportsShouldProcess)
        {
            cmdlet.Parameters.Add(ShouldProcessParameter("WhatIf", "wi", order++));
            cmdlet.Parameters.Add(ShouldProcessParameter("Confirm", "cf", order++));
        }
        return cmdlet;
    }

    private static ParameterMeta ShouldProcessParameter(string name, string alias, int order)
    {
        var p = new ParameterMeta
        {
            Name = name,
            Type = new TypeName { Namespace = Sma, Name = "SwitchParameter", Assembly = Sma },
            IsShouldProcess = true,
            Order = order,
        };
        p.Aliases.Add(alias);
        p.Sets.Add(new ParameterSetEntry { SetName = CmdletMeta.AllSets });
        return p;
    }

    private IEnumerable<ParameterMeta> ReadParameters(MetadataReader reader, TypeDefinition type, ref int order)
    {
        var provider = new TypeProvider(reader);
        var result = new List<ParameterMeta>();
        foreach (var handle in type.GetProperties())
        {
            var property = reader.GetPropertyDefinition(handle);
            var signature = property.DecodeSignature(provider, null);
            var parameter = ReadParameter(reader, provider, reader.GetString(property.Name), signature.ReturnType, property.GetCustomAttributes(), ref order);
            if (parameter != null) result.Add(parameter);
        }
        foreach (var handle in type.GetFields())
        {
            var field = reader.GetFieldDefinition(handle);
            if ((field.Attributes & FieldAttributes.FieldAccessMask) != FieldAttributes.Public) continue;
            var fieldType = field.DecodeSignature(provider, null);
            var parameter = ReadParameter(reader, provider, reader.GetString(field.Name), fieldType, field.GetCustomAttributes(), ref order);
            if (parameter != null) result.Add(parameter);
        }
        return result;
    }

    private ParameterMeta? ReadParameter(MetadataReader reader, TypeProvider provider, string name, TypeName type, CustomAttributeHandleCollection attributes, ref int order)
    {
        ParameterMeta? parameter = null;
        var aliases = new List<string>();
        var validValues = new List<string>();
        bool wildcards = false;
        foreach (var handle in attributes)
        {
            var attribute = reader.GetCustomAttribute(handle);
            switch (AttributeName(reader, attribute))
            {
                case Sma + ".ParameterAttribute":
                    var value = attribute.DecodeValue(provider);
                    if (Named(value, "DontShow") is true) return null;
                    parameter ??= new ParameterMeta { Name = name, Type = type, Order = order++ };
                    int position = Named(value, "Position") is int p ? p : int.MinValue;
                    parameter.Sets.Add(new ParameterSetEntry
                    {
                        SetName = Named(value, "ParameterSetName") as string ?? CmdletMeta.AllSets,
                        Mandatory = Named(value, "Mandatory") is true,
                        Position = position == int.MinValue ? null : position,
                        ByValue = Named(value, "ValueFromPipeline") is true,
                        ByPropertyName = Named(value, "ValueFromPipelineByPropertyName") is true,
                    });
                    break;
                case Sma + ".AliasAttribute":
                    aliases.AddRange(Strings(attribute.DecodeValue(provider)));
                    break;
                case Sma + ".ValidateSetAttribute":
                    validValues.AddRange(Strings(attribute.DecodeValue(provider)));
                    break;
                case Sma + ".SupportsWildcardsAttribute":
                    wildcards = true;
                    break;
            }
        }
        if (parameter == null) return null;
        parameter.Aliases.AddRange(aliases);
        parameter.Wildcards = wildcards;
        parameter.ValidValues.AddRange(validValues.Count > 0 ? validValues : EnumValues(type.Unwrapped));
        return parameter;
    }

    private static IEnumerable<string> Strings(CustomAttributeValue<TypeName> value)
    {
        foreach (var argument in value.FixedArguments)
        {
            if (argument.Value is string s) yield return s;
            else if (argument.Value is ImmutableArray<CustomAttributeTypedArgument<TypeName>> array)
            {
                foreach (var element in array)
                {
                    if (element.Value is string e) yield return e;
                }
            }
        }
    }

    private static IEnumerable<string> OutputTypes(CustomAttributeValue<TypeName> value)
    {
        foreach (var argument in value.FixedArguments)
        {
            if (argument.Value is not ImmutableArray<CustomAttributeTypedArgument<TypeName>> array) continue;
            foreach (var element in array)
            {
                if (element.Value is TypeName t) yield return t.FullName;
                else if (element.Value is string s) yield return s;
            }
        }
    }

    private static object? Named(CustomAttributeValue<TypeName> value, string name)
    {
        foreach (var argument in value.NamedArguments)
        {
            if (argument.Name == name) return argument.Value;
        }
        return null;
    }

    private (MetadataReader? Reader, TypeDefinition? Type) BaseType(MetadataReader reader, TypeDefinition type)
    {
        var baseHandle = type.BaseType;
        if (baseHandle.IsNil) return (null, null);
        if (baseHandle.Kind == HandleKind.TypeDefinition) return (reader, reader.GetTypeDefinition((TypeDefinitionHandle)baseHandle));
        if (baseHandle.Kind == HandleKind.TypeReference)
        {
            var name = new TypeProvider(reader).GetTypeFromReference(reader, (TypeReferenceHandle)baseHandle, 0);
            var resolved = Resolve(name);
            if (resolved != null) return (resolved.Value.Reader, resolved.Value.Reader.GetTypeDefinition(resolved.Value.Handle));
        }
        return (null, null);
    }

    /// <summary>The definition of a type in one of the assemblies beside the cmdlet assembly.</summary>
    private (MetadataReader Reader, TypeDefinitionHandle Handle)? Resolve(TypeName name)
    {
        if (name.ElementType != null || name.GenericArguments.Length > 0) return null;
        var reader = name.Assembly == null ? _main : Assembly(name.Assembly);
        if (reader == null) return null;
        string full = name.FullName;
        foreach (var handle in reader.TypeDefinitions)
        {
            if (TypeFullName(reader, reader.GetTypeDefinition(handle)) == full) return (reader, handle);
        }
        return null;
    }

    private List<string> EnumValues(TypeName type)
    {
        var values = new List<string>();
        var resolved = type.Reader != null ? (type.Reader, type.Handle) : Resolve(type);
        if (resolved == null) return values;
        var (reader, handle) = resolved.Value;
        var definition = reader.GetTypeDefinition(handle);
        if (definition.BaseType.IsNil || definition.BaseType.Kind != HandleKind.TypeReference) return values;
        var baseType = reader.GetTypeReference((TypeReferenceHandle)definition.BaseType);
        if (reader.GetString(baseType.Namespace) != "System" || reader.GetString(baseType.Name) != "Enum") return values;
        foreach (var fieldHandle in definition.GetFields())
        {
            var field = reader.GetFieldDefinition(fieldHandle);
            if ((field.Attributes & FieldAttributes.Literal) != 0) values.Add(reader.GetString(field.Name));
        }
        return values;
    }

    internal static string TypeFullName(MetadataReader reader, TypeDefinition type)
    {
        string name = reader.GetString(type.Name);
        var declaring = type.GetDeclaringType();
        if (!declaring.IsNil) return TypeFullName(reader, reader.GetTypeDefinition(declaring)) + "+" + name;
        string ns = reader.GetString(type.Namespace);
        return ns.Length > 0 ? ns + "." + name : name;
    }

    private static string AttributeName(MetadataReader reader, CustomAttribute attribute)
    {
        var ctor = attribute.Constructor;
        if (ctor.Kind == HandleKind.MemberReference)
        {
            var parent = reader.GetMemberReference((MemberReferenceHandle)ctor).Parent;
            if (parent.Kind == HandleKind.TypeReference)
            {
                var reference = reader.GetTypeReference((TypeReferenceHandle)parent);
                return reader.GetString(reference.Namespace) + "." + reader.GetString(reference.Name);
            }
        }
        else if (ctor.Kind == HandleKind.MethodDefinition)
        {
            var method = reader.GetMethodDefinition((MethodDefinitionHandle)ctor);
            return TypeFullName(reader, reader.GetTypeDefinition(method.GetDeclaringType()));
        }
        return "";
    }
}

/// <summary>Decodes signatures and attribute blobs into <see cref="TypeName"/>s.</summary>
internal sealed class TypeProvider : ISignatureTypeProvider<TypeName, object?>, ICustomAttributeTypeProvider<TypeName>
{
    private readonly MetadataReader _reader;

    public TypeProvider(MetadataReader reader)
    {
        _reader = reader;
    }

    public TypeName GetPrimitiveType(PrimitiveTypeCode typeCode) => new TypeName
    {
        Namespace = "System",
        Name = typeCode switch
        {
            PrimitiveTypeCode.Boolean => "Boolean",
            PrimitiveTypeCode.Byte => "Byte",
            PrimitiveTypeCode.SByte => "SByte",
            PrimitiveTypeCode.Char => "Char",
            PrimitiveTypeCode.Int16 => "Int16",
            PrimitiveTypeCode.UInt16 => "UInt16",
            PrimitiveTypeCode.Int32 => "Int32",
            PrimitiveTypeCode.UInt32 => "UInt32",
            PrimitiveTypeCode.Int64 => "Int64",
            PrimitiveTypeCode.UInt64 => "UInt64",
            PrimitiveTypeCode.Single => "Single",
            PrimitiveTypeCode.Double => "Double",
            PrimitiveTypeCode.String => "String",
            PrimitiveTypeCode.Object => "Object",
            PrimitiveTypeCode.IntPtr => "IntPtr",
            PrimitiveTypeCode.UIntPtr => "UIntPtr",
            PrimitiveTypeCode.Void => "Void",
            PrimitiveTypeCode.TypedReference => "TypedReference",
            _ => typeCode.ToString(),
        },
    };

    public TypeName GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind)
    {
        var type = reader.GetTypeDefinition(handle);
        var declaring = type.GetDeclaringType();
        return new TypeName
        {
            Namespace = reader.GetString(type.Namespace),
            Name = reader.GetString(type.Name),
            DeclaringType = declaring.IsNil ? null : GetTypeFromDefinition(reader, declaring, 0),
            Reader = reader,
            Handle = handle,
        };
    }

    public TypeName GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind)
    {
        var reference = reader.GetTypeReference(handle);
        var scope = reference.ResolutionScope;
        TypeName? declaring = null;
        string? assembly = null;
        if (scope.Kind == HandleKind.TypeReference)
        {
            declaring = GetTypeFromReference(reader, (TypeReferenceHandle)scope, 0);
            assembly = declaring.Assembly;
        }
        else if (scope.Kind == HandleKind.AssemblyReference)
        {
            assembly = reader.GetString(reader.GetAssemblyReference((AssemblyReferenceHandle)scope).Name);
        }
        return new TypeName
        {
            Namespace = reader.GetString(reference.Namespace),
            Name = reader.GetString(reference.Name),
            DeclaringType = declaring,
            Assembly = assembly,
        };
    }

    public TypeName GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
        reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);

    public TypeName GetSZArrayType(TypeName elementType) => new TypeName { ElementType = elementType };

    public TypeName GetArrayType(TypeName elementType, ArrayShape shape) => new TypeName { ElementType = elementType };

    public TypeName GetGenericInstantiation(TypeName genericType, ImmutableArray<TypeName> typeArguments) => new TypeName
    {
        Namespace = genericType.Namespace,
        Name = genericType.Name,
        DeclaringType = genericType.DeclaringType,
        Assembly = genericType.Assembly,
        GenericArguments = typeArguments,
    };

    public TypeName GetByReferenceType(TypeName elementType) => elementType;
    public TypeName GetPointerType(TypeName elementType) => elementType;
    public TypeName GetPinnedType(TypeName elementType) => elementType;
    public TypeName GetModifiedType(TypeName modifier, TypeName unmodifiedType, bool isRequired) => unmodifiedType;
    public TypeName GetFunctionPointerType(MethodSignature<TypeName> signature) => new TypeName { Namespace = "System", Name = "IntPtr" };
    public TypeName GetGenericMethodParameter(object? genericContext, int index) => new TypeName { Name = "!!" + index };
    public TypeName GetGenericTypeParameter(object? genericContext, int index) => new TypeName { Name = "!" + index };

    public TypeName GetSystemType() => new TypeName { Namespace = "System", Name = "Type" };
    public bool IsSystemType(TypeName type) => type.FullName == "System.Type";

    public TypeName GetTypeFromSerializedName(string name)
    {
        // "Namespace.Outer+Inner, Assembly, Version=..." as written in an attribute blob.
        string typeName = name.Split(',')[0].Trim();
        int dot = typeName.LastIndexOf('.');
        return dot < 0 ? new TypeName { Name = typeName } : new TypeName { Namespace = typeName.Substring(0, dot), Name = typeName.Substring(dot + 1) };
    }

    // Every enum in the attributes read here (ConfirmImpact) is an int.
    public PrimitiveTypeCode GetUnderlyingEnumType(TypeName type) => PrimitiveTypeCode.Int32;
}
